import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { RetryableError } from "../../shared/errors.ts";
import { partNames } from "../../shared/keys.ts";
import { audioArgs } from "../../shared/media/encode-args.ts";
import { plannedDurationSeconds } from "../../shared/media/chunk-plan.ts";
import { publishProgressSafely } from "../../shared/pipeline/progressive-publish.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { runPartOnce, type EncodingPartDeps } from "../../shared/pipeline/fan-in.ts";
import { handleActiveJob } from "../../shared/pipeline/job-guard.ts";
import { uploadSegments } from "../../shared/pipeline/segment-upload.ts";
import { deadlineOptions } from "../../shared/media/deadlines.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { startProgressReporter } from "../../shared/progress/progress-records.ts";

export const AUDIO_RENDITION_NAME = "audio";

/** audio reads the source and writes its rendition; its only hand-over is the fan-in to publish. */
export type AudioDeps = EncodingPartDeps;

/** audio: the whole track once, as its own HLS rendition, exactly as long as the video. */
export function createAudioHandler(deps: AudioDeps): MessageHandler {
  return handleActiveJob(deps, "encode-audio", async ({ job, logger, context }) => {
    const audio = job.source.audio;
    if (!audio) throw new RetryableError(`job ${job.videoId} has no audio track`);
    const { chunks } = job.plan;

    await runPartOnce(deps, job, partNames.audio, async (dir, location) => {
      const input = join(dir, "source");
      const outDir = join(dir, AUDIO_RENDITION_NAME);
      await mkdir(outDir);
      await deps.store.download(job.sourceKey, input, { readOnly: true });
      const durationSeconds = plannedDurationSeconds(chunks);
      const progress = startProgressReporter(deps.store, job.videoId, partNames.audio, { signal: context.signal, logger, now: deps.now });
      await runProcess(
        deps.binaries.ffmpeg,
        audioArgs({
          input,
          streamIndex: audio.index,
          videoStartTime: job.source.video.startTime,
          durationSeconds,
          segmentSeconds: job.plan.segmentSeconds,
          playlistPath: join(outDir, "ffmpeg.m3u8"),
          segmentPattern: join(outDir, "seg-%05d.ts"),
          threads: deps.threads,
        }),
        {
          logger,
          signal: progress.signal,
          task: "encoding the audio",
          ...deadlineOptions(deps.deadlines, "audio", plannedDurationSeconds(chunks)),
          onProgress: (report) => progress.update(Number(report.out_time_us) / 1e6 / durationSeconds),
        },
      ).finally(() => progress.stop());
      // The track is cut to the video's length within an AAC frame or two (see audioArgs).
      const expected = { totalSeconds: durationSeconds, toleranceSeconds: 3 * (1024 / 48_000) };
      const { segments } = await uploadSegments(deps, location, AUDIO_RENDITION_NAME, outDir, "ffmpeg.m3u8", false, expected);
      logger.info("audio encoded");
      return { segments: { [AUDIO_RENDITION_NAME]: segments } };
    }, () => publishProgressSafely(deps, job, logger));
  });
}
