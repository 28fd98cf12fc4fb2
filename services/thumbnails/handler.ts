import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { readJob, readJsonObject } from "../../shared/job.ts";
import { keys, partNames } from "../../shared/keys.ts";
import type { Logger } from "../../shared/logger.ts";
import { copyAttemptFiles } from "../../shared/pipeline/attempt-files.ts";
import type { PartRecord } from "../../shared/pipeline/part-record.ts";
import { plannedDurationSeconds } from "../../shared/media/chunk-plan.ts";
import { runPartOnce, type EncodingPartDeps } from "../../shared/pipeline/fan-in.ts";
import { handleActiveJob } from "../../shared/pipeline/job-guard.ts";
import { contentTypeForKey } from "../../shared/storage/object-key.ts";
import { deadlineOptions } from "../../shared/media/deadlines.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { renderThumbnails } from "./render-thumbnails.ts";

export const THUMBNAILS_FOLDER = "thumbnails";

/** thumbnails reads the source and writes images; its only hand-over is the fan-in to publish. */
export type ThumbnailsDeps = EncodingPartDeps;

/** thumbnails: poster in several sizes and a storyboard (sprites + WebVTT), from the source. */
export function createThumbnailsHandler(deps: ThumbnailsDeps): MessageHandler {
  return handleActiveJob(deps, "make-thumbnails", async ({ job, logger, context }) => {
    const { chunks } = job.plan;

    await runPartOnce(deps, job, partNames.thumbnails, async (dir, location) => {
      const input = join(dir, "source");
      const outDir = join(dir, "out");
      await mkdir(outDir);
      await deps.store.download(job.sourceKey, input, { readOnly: true });
      const result = await renderThumbnails({
        inputPath: input,
        outDir,
        durationSeconds: plannedDurationSeconds(chunks),
        videoStreamIndex: job.source.video.index,
        displayWidth: job.source.video.displayWidth,
        displayHeight: job.source.video.displayHeight,
        toneMap: job.plan.toneMap,
        ffmpegPath: deps.binaries.ffmpeg,
        threads: deps.threads,
        maxKeyframeGapSeconds: job.source.video.maxKeyframeGapSeconds,
        logger,
        tmpDir: dir,
        signal: context.signal,
        deadline: deadlineOptions(deps.deadlines, "thumbnails", plannedDurationSeconds(chunks)),
      });
      for (const name of (await readdir(outDir)).sort()) {
        await deps.store.upload(`${location}${THUMBNAILS_FOLDER}/${name}`, join(outDir, name), {
          contentType: contentTypeForKey(name),
          readOnly: true,
        });
      }
      logger.info("thumbnails made");
      return { details: { folder: THUMBNAILS_FOLDER, ...result } };
    }, () => publishThumbnailsEarly(deps, job.videoId, logger));
  });
}

/**
 * A video playable before it is ready (progressive publish) gets its poster and storyboard as
 * soon as they exist: the files of the attempt the marker names are copied to where publish will
 * copy them anyway (the same keys and bytes). A failure is logged; publish copies them at the end.
 */
async function publishThumbnailsEarly(deps: ThumbnailsDeps, videoId: string, logger: Logger): Promise<void> {
  try {
    const record = await readJsonObject<PartRecord>(deps.store, keys.part(videoId, partNames.thumbnails));
    if (!record.location || (await readJob(deps.store, videoId))?.status !== "processing") return;
    await copyAttemptFiles(deps.store, videoId, record.location);
  } catch (error) {
    logger.warn({ err: error }, "could not publish the thumbnails early; they are published once the video is ready");
  }
}
