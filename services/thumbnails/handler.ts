import { createReadStream } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import { RetryableError } from "../../shared/errors.ts";
import { keys, partNames } from "../../shared/keys.ts";
import { parseMessage } from "../../shared/messages.ts";
import { toNumber } from "../../shared/media/frame-rate.ts";
import { downloadTo, withTempDir, type PipelineDeps } from "../../shared/pipeline/deps.ts";
import { failJobOnPermanentError, loadActiveJob } from "../../shared/pipeline/job-guard.ts";
import { completePart, partExists, startTimer } from "../../shared/pipeline/parts.ts";
import type { MessageHandler } from "../../shared/runtime/types.ts";
import { renderThumbnails } from "./render-thumbnails.ts";

const CONTENT_TYPES: Record<string, string> = { ".jpg": "image/jpeg", ".webp": "image/webp", ".vtt": "text/vtt" };

/** thumbnails: poster in several sizes and a storyboard (sprites + WebVTT), from the source. */
export function createThumbnailsHandler(deps: PipelineDeps): MessageHandler {
  return async (received, context) => {
    const message = parseMessage(received.body);
    if (message.type !== "make-thumbnails") throw new RetryableError(`thumbnails got ${message.type}`);
    const logger = context.logger.child({ videoId: message.videoId });
    const job = await loadActiveJob(deps, message.videoId, logger);
    if (!job) return;
    if (await partExists(deps, job.videoId, partNames.thumbnails)) {
      await completePart(deps, job, undefined);
      return;
    }
    const timer = startTimer(deps);
    const { chunks } = job.plan;
    const record = await failJobOnPermanentError(deps, job, () =>
      withTempDir(deps, "thumbnails", async (dir) => {
        const input = join(dir, "source");
        const outDir = join(dir, "out");
        await mkdir(outDir);
        await downloadTo(deps.store, job.sourceKey, input);
        const result = await renderThumbnails({
          inputPath: input,
          outDir,
          durationSeconds: chunks.totalFrames / toNumber(chunks.frameRate),
          videoStreamIndex: job.source.video.index,
          displayWidth: job.source.video.displayWidth,
          displayHeight: job.source.video.displayHeight,
          toneMap: job.plan.toneMap,
          ffmpegPath: deps.binaries.ffmpeg,
          logger,
          tmpDir: dir,
          signal: context.signal,
        });
        for (const name of (await readdir(outDir)).sort()) {
          await deps.store.put(keys.output(job.videoId, `thumbnails/${name}`), createReadStream(join(outDir, name)), {
            contentType: CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
          });
        }
        return { part: partNames.thumbnails, ...timer(), details: { folder: "thumbnails", ...result } };
      }),
    );
    await completePart(deps, job, record);
    logger.info("thumbnails made");
  };
}
