import { existsSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { runProcess } from "../shared/media/run-process.ts";

/** How the clip was made, for the results file and the README. */
export interface ClipDescription {
  path: string;
  source: string;
  seconds: number;
  how: string;
  command: string[];
  sizeBytes: number;
  cached: boolean;
}

export interface ClipOptions {
  ffmpeg: string;
  /** A real recording, looped until the clip is long enough. */
  source: string;
  seconds: number;
  workDir: string;
}

/** A phone-like 1080p H.264 recording: ~16 Mb/s capped VBR, a keyframe every 2 s, AAC stereo. */
export function clipArgs(source: string, seconds: number, output: string): string[] {
  return [
    "-v", "error", "-nostdin", "-y",
    "-stream_loop", "-1", "-i", source,
    "-t", String(seconds),
    "-map", "0:v:0", "-map", "0:a:0",
    "-vf", "scale=1920:1080:flags=bicubic,format=yuv420p",
    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
    "-b:v", "16M", "-maxrate", "20M", "-bufsize", "32M",
    "-force_key_frames", "expr:gte(t,n_forced*2)", "-sc_threshold", "0", "-g", "9999",
    "-c:a", "aac", "-b:a", "192k", "-ac", "2", "-ar", "48000",
    "-map_metadata", "-1",
    "-movflags", "+faststart",
    output,
  ];
}

/**
 * Makes (or reuses) a clip of `seconds` seconds from a short real recording by looping it and
 * re-encoding once. Cached by name in `workDir`; written under a temporary name and renamed,
 * so an interrupted run never leaves a truncated clip behind to be reused.
 */
export async function makeClip(options: ClipOptions): Promise<ClipDescription> {
  const name = `${basename(options.source, extname(options.source))}-loop-${options.seconds}s-1080p-h264-aac.mp4`;
  const path = join(options.workDir, name);
  const command = clipArgs(options.source, options.seconds, path);
  const how =
    `${basename(options.source)} looped (-stream_loop -1 -t ${options.seconds}) and re-encoded once: ` +
    "H.264 High 1920x1080, veryfast, 16 Mb/s (max 20), keyframe every 2 s, AAC-LC 192 kb/s stereo 48 kHz, MP4 faststart";
  const cached = existsSync(path);
  if (!cached) {
    await mkdir(options.workDir, { recursive: true });
    const partial = join(options.workDir, `.partial-${process.pid}-${name}`);
    try {
      await runProcess(options.ffmpeg, clipArgs(options.source, options.seconds, partial));
      await rename(partial, path);
    } finally {
      await rm(partial, { force: true });
    }
  }
  return { path, source: basename(options.source), seconds: options.seconds, how, command, sizeBytes: statSync(path).size, cached };
}
