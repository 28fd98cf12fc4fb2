import { join } from "node:path";
import type { Config } from "../shared/config.ts";
import { plannedDurationSeconds, type ChunkPlan } from "../shared/media/chunk-plan.ts";
import { planEncode } from "../shared/media/encode-plan.ts";
import { audioArgs, transcodeChunkArgs } from "../shared/media/encode-args.ts";
import type { Rendition } from "../shared/media/ladder.ts";
import type { SourceInfo } from "../shared/media/source-info.ts";

export interface SingleCommandInput {
  input: string;
  source: SourceInfo;
  config: Readonly<Config>;
  outDir: string;
  /** ffmpeg threads for decoding and for each encoder; 0 = ffmpeg's default (all cores). */
  threads: number;
}

export interface SingleCommand {
  args: string[];
  renditions: Rendition[];
  plan: ChunkPlan;
  /** Folders the command writes, one per rendition plus `audio`. */
  folders: string[];
}

/** What follows `-i <input>` in an ffmpeg argument list: the output's options and its path. */
export function outputPart(args: readonly string[]): string[] {
  const input = args.indexOf("-i");
  if (input < 0 || input + 2 > args.length) throw new Error(`no -i in ${args.join(" ")}`);
  return args.slice(input + 2);
}

/**
 * The ladder as one ffmpeg command, built from the pipeline's own argument builders so the two
 * cannot drift: the video is one "chunk" covering the whole source (read directly, all frames,
 * an IDR at every segment start, timeline from 0), and the audio output is audioArgs' output
 * half added to the same command, reading the same input. The segments are the ones the pipeline
 * plans for the same source and settings, so both write the same files, boundary for boundary.
 */
export function buildSingleCommand(options: SingleCommandInput): SingleCommand {
  const { source, config } = options;
  const { renditions, chunks: plan } = planEncode(source, config.media, config.worker.transcodeConcurrency);
  const chunk = { frameCount: plan.totalFrames, keyframeOffsets: plan.segmentStarts };

  const outputs = renditions.map((rendition) => ({
    rendition,
    playlistPath: join(options.outDir, rendition.name, "ffmpeg.m3u8"),
    segmentPattern: join(options.outDir, rendition.name, "seg-%05d.ts"),
  }));
  const args = transcodeChunkArgs({
    input: options.input,
    seekSeconds: source.video.startTime,
    frameCount: chunk.frameCount,
    startTime: 0,
    firstSegment: 0,
    keyframeOffsets: chunk.keyframeOffsets,
    filters: { frameRate: plan.frameRate, toneMap: source.video.hdr, fullRange: source.video.fullRange, rotation: source.video.rotation },
    preset: config.media.x264Preset,
    threads: options.threads,
    outputs,
    fromSource: { streamIndex: source.video.index },
  });
  const folders = renditions.map((r) => r.name);
  if (source.audio) {
    const audio = audioArgs({
      input: options.input,
      streamIndex: source.audio.index,
      videoStartTime: source.video.startTime,
      durationSeconds: plannedDurationSeconds(plan),
      segmentSeconds: config.media.segmentSeconds,
      playlistPath: join(options.outDir, "audio", "ffmpeg.m3u8"),
      segmentPattern: join(options.outDir, "audio", "seg-%05d.ts"),
      threads: options.threads,
    });
    // Both halves read input 0, seeked to the first video frame (audioArgs seeks there too when it is not 0).
    args.push(...outputPart(audio));
    folders.push("audio");
  }
  return { args, renditions, plan, folders };
}
