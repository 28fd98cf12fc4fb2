import { rm } from "node:fs/promises";
import { join } from "node:path";
import { keys } from "../../shared/keys.ts";
import { decodedSplitArgs, splitArgs } from "../../shared/media/encode-args.ts";
import type { FfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { chunkInputOptions } from "../../shared/media/probe.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { failJobOnPermanentError, handleActiveJob, type JobStoreDeps } from "../../shared/pipeline/job-guard.ts";
import type { Senders } from "../../shared/pipeline/senders.ts";
import { withTempDir, type TempDirSettings } from "../../shared/pipeline/temp-dir.ts";
import { deadlineOptions } from "../../shared/media/deadlines.ts";
import type { DeadlineConfig, WorkKind } from "../../shared/media/deadlines.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { InfrastructureError, PermanentError } from "../../shared/errors.ts";

/** split reads the source, stores chunks, and hands work to transcode, audio and thumbnails. */
export interface SplitDeps extends JobStoreDeps, TempDirSettings {
  /** Child-process deadlines. */
  deadlines: DeadlineConfig;
  send: Senders<"lead" | "transcode" | "audio" | "thumbnails">;
  binaries: Pick<FfmpegBinaries, "ffmpeg" | "ffprobe">;
  /** How many transcodes run side by side: that many chunks are cut at once first. */
  transcodeConcurrency: number;
}

/** Extra source copied past a chunk's end, so B-frames shown before the cut are in the file. */
const CHUNK_TAIL_SECONDS = 1;

/**
 * split: cuts the chosen video track into chunk files by stream copy (no re-encode), each starting
 * at the source keyframe at or before its first frame, and fans out: one transcode message per
 * chunk as soon as that chunk is stored, and one message each for audio and thumbnails.
 */
export function createSplitHandler(deps: SplitDeps): MessageHandler {
  return handleActiveJob(deps, "split-source", async ({ job, logger, context }) => {
    await failJobOnPermanentError(deps, job, () =>
      withTempDir(deps, "split", async (dir) => {
        const sourcePath = join(dir, "source");
        await deps.store.download(job.sourceKey, sourcePath, { readOnly: true });
        const { chunks } = job.plan.chunks;
        const video = job.source.video;
        const firstKeyframe = video.startTime;
        const handOverAudio = async () => {
          if (job.plan.hasAudio) await deps.send.audio({ type: "encode-audio", version: 1, videoId: job.videoId });
        };
        // Cut one chunk, store it and hand it over: transcodes start while split goes on.
        const cutAndHandOver = async (chunk: (typeof chunks)[number]) => {
          const chunkPath = join(dir, `chunk-${chunk.index}.mkv`);
          const isLast = chunk.index === chunks.length - 1;
          const startsAtFirstKeyframe = chunk.sourceKeyframeTime <= firstKeyframe + 1e-6;
          const run = (args: string[], kind: WorkKind, mediaSeconds: number) =>
            runProcess(deps.binaries.ffmpeg, args, {
              logger,
              signal: context.signal,
              task: "cutting the video into chunks",
              ...deadlineOptions(deps.deadlines, kind, mediaSeconds),
            });
          let cutAt: number;
          let chunkStart: number;
          try {
            await run(
              splitArgs({
                input: sourcePath,
                output: chunkPath,
                streamIndex: video.index,
                keyframeTime: startsAtFirstKeyframe ? undefined : chunk.sourceKeyframeTime,
                durationSeconds: isLast ? undefined : video.startTime + chunk.endTime - chunk.sourceKeyframeTime + CHUNK_TAIL_SECONDS,
              }),
              "scan",
              // The last chunk is copied to the end of the source.
              isLast ? video.startTime + job.source.durationSeconds - chunk.sourceKeyframeTime : chunk.endTime - chunk.sourceKeyframeTime,
            );
            chunkStart = await firstKeyframeOffset(deps, chunkPath, context.signal);
            cutAt = startsAtFirstKeyframe ? firstKeyframe : chunk.sourceKeyframeTime;
          } catch (error) {
            if (context.signal.aborted || error instanceof InfrastructureError) throw error;
            // Stream copy cannot cut every file ffmpeg can decode (a raw H.264 stream has no
            // timestamps to write): decoding it can, at the chunk's exact start.
            logger.warn({ chunk: chunk.index, err: error }, "stream copy could not cut this chunk; cutting it by decoding");
            const startsAtFirstFrame = chunk.index === 0;
            await run(
              decodedSplitArgs({
                input: sourcePath,
                output: chunkPath,
                streamIndex: video.index,
                startTime: startsAtFirstFrame ? undefined : video.startTime + chunk.startTime,
                durationSeconds: isLast ? undefined : chunk.endTime - chunk.startTime + CHUNK_TAIL_SECONDS,
              }),
              // Decoded from the start of the source to the chunk's end, and encoded.
              "transcode",
              video.startTime + (isLast ? job.source.durationSeconds : chunk.endTime + CHUNK_TAIL_SECONDS),
            );
            chunkStart = await firstKeyframeOffset(deps, chunkPath, context.signal);
            cutAt = startsAtFirstFrame ? firstKeyframe : video.startTime + chunk.startTime;
          }
          await deps.store.upload(keys.chunk(job.videoId, chunk.index), chunkPath, { readOnly: true });
          // Stored: the temp folder holds the source and the chunks being cut, never every chunk.
          await rm(chunkPath, { force: true });
          await deps.send.transcode({
            type: "transcode-chunk",
            version: 1,
            videoId: job.videoId,
            chunkIndex: chunk.index,
            seekSeconds: Math.max(0, video.startTime + chunk.startTime - cutAt + chunkStart),
          });
        };
        const leadRung = job.plan.leadRung;
        if (leadRung) {
          // The lead rung makes the video playable and needs no chunk: it is handed over before the
          // first chunk is cut, and the audio (seconds of work, and the master needs it) with it.
          await handOverAudio();
          await deps.send.lead({ type: "encode-rung", version: 1, videoId: job.videoId, rendition: leadRung });
        }
        // The first round of chunks is cut side by side: until they exist, the cores that will
        // transcode them have nothing else to do.
        const firstRound = chunks.slice(0, Math.min(chunks.length, deps.transcodeConcurrency));
        await settleAll(firstRound.map(cutAndHandOver));
        // Audio and thumbnails read the source, not the chunks, and take seconds where the chunks
        // take minutes: they are handed over once the first round of transcodes has its chunks,
        // so on a small machine they do not slow the cutting of those chunks.
        if (!leadRung) await handOverAudio();
        await deps.send.thumbnails({ type: "make-thumbnails", version: 1, videoId: job.videoId });
        for (const chunk of chunks.slice(firstRound.length)) await cutAndHandOver(chunk);
        logger.info({ chunks: chunks.length }, "split");
      }),
    );
  });
}

/** Waits for every promise, then throws the first failure: no cut is left running in a removed folder. */
async function settleAll(work: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Where the chunk's first keyframe sits relative to the chunk file's start, as ffmpeg's `-ss`
 * counts it. Normally 0; not when the muxer shifted timestamps for B-frame reordering.
 */
async function firstKeyframeOffset(deps: Pick<SplitDeps, "binaries" | "deadlines">, chunkPath: string, signal: AbortSignal): Promise<number> {
  const { stdout } = await runProcess(
    deps.binaries.ffprobe,
    ["-v", "error", ...chunkInputOptions(), "-read_intervals", "%+#30", "-show_entries", "packet=pts_time,flags:format=start_time", "-of", "json", chunkPath],
    { signal, task: "reading a chunk", ...deadlineOptions(deps.deadlines, "probe", 0) },
  );
  const parsed = JSON.parse(stdout.toString("utf8")) as { format?: { start_time?: string }; packets?: Array<{ pts_time?: string; flags?: string }> };
  const start = Number(parsed.format?.start_time ?? 0) || 0;
  const keyframe = parsed.packets?.find((packet) => packet.flags?.startsWith("K") && packet.pts_time !== undefined);
  // A copied chunk without a keyframe cannot be decoded: the copy did not work on this file.
  if (!keyframe) throw new PermanentError(`chunk ${chunkPath} holds no keyframe`, { reason: "a part of the video cut from the file holds no keyframe, so it cannot be decoded; re-save the video with a current encoder (for example as MP4)" });
  return Number(keyframe.pts_time) - start;
}
