import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { RetryableError } from "../../shared/errors.ts";
import { keys, partNames } from "../../shared/keys.ts";
import { transcodeChunkArgs } from "../../shared/media/encode-args.ts";
import { chunkRenditions } from "../../shared/media/lead-rung.ts";
import { parseX264Quality, type EncodeQuality } from "../../shared/media/encoder-quality.ts";
import { publishProgressSafely } from "../../shared/pipeline/progressive-publish.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { runPartOnce, type EncodingPartDeps } from "../../shared/pipeline/fan-in.ts";
import { handleActiveJob } from "../../shared/pipeline/job-guard.ts";
import type { SegmentRecord } from "../../shared/pipeline/part-record.ts";
import { uploadSegments } from "../../shared/pipeline/segment-upload.ts";
import { expectedChunkSegments } from "../../shared/pipeline/verify-segments.ts";
import { deadlineOptions } from "../../shared/media/deadlines.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { startProgressReporter } from "../../shared/progress/progress-records.ts";

export interface ThreadSettings {
  /** ffmpeg threads per process while transcodes run side by side. */
  threads: number;
  /** ffmpeg threads for a transcode that has the machine to itself. */
  soloThreads: number;
  /** How many transcodes run side by side (VODPIPE_TRANSCODE_CONCURRENCY). */
  transcodeConcurrency: number;
}

/** Chunk encodes yield the cores to the lead rung: at nice 10, about a tenth of a core's share against nice 0. */
export const CHUNK_NICENESS = 10;

/** transcode reads its chunk and writes video segments; its only hand-over is the fan-in to publish. */
export interface TranscodeDeps extends EncodingPartDeps, ThreadSettings {}

/**
 * A job with fewer chunks than the transcode concurrency leaves cores idle: its chunks get every
 * core. Otherwise each ffmpeg gets its share. (Measured on 2 cores: giving the last chunks more
 * threads than their share oversubscribes the machine and costs more CPU than it saves.)
 */
export function threadsForChunk(chunkCount: number, settings: ThreadSettings): number {
  return chunkCount < settings.transcodeConcurrency ? settings.soloThreads : settings.threads;
}

/**
 * transcode: one chunk, decoded once, encoded into every video rendition but the lead rung (the
 * lead stage encodes that one whole) as HLS segments whose timestamps continue where the previous
 * chunk ended (the output offset is the chunk's start).
 */
export function createTranscodeHandler(deps: TranscodeDeps): MessageHandler {
  return handleActiveJob(deps, "transcode-chunk", async ({ message, job, logger, context }) => {
    const chunk = job.plan.chunks.chunks[message.chunkIndex];
    if (!chunk) throw new RetryableError(`job ${job.videoId} has no chunk ${message.chunkIndex}`);

    await runPartOnce(deps, job, partNames.chunk(chunk.index), async (dir, location) => {
      const input = join(dir, "chunk.mkv");
      await deps.store.download(keys.chunk(job.videoId, chunk.index), input, { readOnly: true });
      const outputs = chunkRenditions(job.plan).map((rendition) => ({
        rendition,
        playlistPath: join(dir, rendition.name, "ffmpeg.m3u8"),
        segmentPattern: join(dir, rendition.name, "seg-%05d.ts"),
      }));
      for (const { rendition } of outputs) await mkdir(join(dir, rendition.name));
      const progress = startProgressReporter(deps.store, job.videoId, partNames.chunk(chunk.index), { signal: context.signal, logger, now: deps.now });
      const { stderr } = await runProcess(
        deps.binaries.ffmpeg,
        transcodeChunkArgs({
          input,
          seekSeconds: message.seekSeconds,
          frameCount: chunk.frameCount,
          startTime: chunk.startTime,
          firstSegment: chunk.firstSegment,
          keyframeOffsets: chunk.keyframeOffsets,
          filters: { frameRate: job.plan.chunks.frameRate, toneMap: job.plan.toneMap, fullRange: job.source.video.fullRange, rotation: job.source.video.rotation },
          preset: job.plan.x264Preset,
          threads: threadsForChunk(job.plan.chunks.chunks.length, deps),
          outputs,
        }),
        {
          logger,
          signal: progress.signal,
          task: "encoding the video",
          // The chunks are the bulk of the work; the lead rung (and the audio), which a viewer
          // waits for, go first when they share the cores.
          niceness: CHUNK_NICENESS,
          ...deadlineOptions(deps.deadlines, "transcode", chunk.endTime - chunk.startTime),
          onProgress: (report) => progress.update(Number(report.frame) / chunk.frameCount),
        },
      ).finally(() => progress.stop());
      const segments: Record<string, SegmentRecord[]> = {};
      const codecs: Record<string, string> = {};
      for (const { rendition } of outputs) {
        const expected = expectedChunkSegments(chunk, job.plan.chunks.frameRate);
        const uploaded = await uploadSegments(deps, location, rendition.name, join(dir, rendition.name), "ffmpeg.m3u8", true, expected);
        if (uploaded.segments.length === 0) throw new RetryableError(`chunk ${chunk.index} produced no ${rendition.name} segments`);
        segments[rendition.name] = uploaded.segments;
        if (uploaded.codec) codecs[rendition.name] = uploaded.codec;
      }
      // libx264's summaries come in output order; a run that printed none (an ffmpeg without
      // them) leaves the chunk unmeasured rather than failing it.
      const measured = parseX264Quality(stderr);
      const quality: Record<string, EncodeQuality> = {};
      if (measured.length === outputs.length) outputs.forEach(({ rendition }, i) => (quality[rendition.name] = { ...measured[i]!, frames: chunk.frameCount }));
      else logger.warn({ encoders: measured.length, outputs: outputs.length }, "the encoder reported no quality for this chunk");
      logger.info({ quality }, "chunk transcoded");
      return { segments, codecs, quality };
    }, () => publishProgressSafely(deps, job, logger));
  }, (message) => ({ chunk: message.chunkIndex }));
}
