import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { NotFoundError, PermanentError, RetryableError } from "../../shared/errors.ts";
import { checkHls } from "../../shared/hls/check-hls.ts";
import { readJsonObject, writeJob } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import type { FfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { listAll } from "../../shared/ports.ts";
import { isoNow } from "../../shared/pipeline/clock.ts";
import { failJobOnPermanentError, handleActiveJob, type JobStoreDeps } from "../../shared/pipeline/job-guard.ts";
import { copyAttemptFiles } from "../../shared/pipeline/attempt-files.ts";
import type { PartRecord } from "../../shared/pipeline/part-record.ts";
import { withTempDir, type TempDirSettings } from "../../shared/pipeline/temp-dir.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import type { Senders } from "../../shared/pipeline/senders.ts";
import { announceVideoEvent } from "../../shared/webhook/announce.ts";
import { summarizeQuality } from "./quality-summary.ts";
import { buildOutputs } from "./build-outputs.ts";

/** publish reads the parts and writes the outputs; it is the last stage and only announces the result. */
export interface PublishDeps extends JobStoreDeps, TempDirSettings {
  send: Senders<"webhook">;
  /** ffmpeg decodes the result for the conformance check. */
  binaries: Pick<FfmpegBinaries, "ffmpeg">;
}

/**
 * publish: fan-in. Builds every playlist and manifest.json from the part markers, runs the
 * conformance check on the result, and only then writes the master playlist and marks the video
 * ready. Nothing is ready until the check passes.
 */
export function createPublishHandler(deps: PublishDeps): MessageHandler {
  return handleActiveJob(deps, "publish-video", async ({ job, logger }) => {
    const parts = new Map<string, PartRecord>();
    const prefix = keys.partsPrefix(job.videoId);
    for (const object of await listAll(deps.store, prefix)) {
      const record = await readJsonObject<PartRecord>(deps.store, object.key);
      parts.set(record.part, record);
    }
    const missing = job.plan.parts.filter((part) => !parts.has(part));
    if (missing.length) throw new RetryableError(`publish before every part finished: missing ${missing.join(", ")}`, { videoId: job.videoId });

    await failJobOnPermanentError(deps, job, async () => {
      const files = buildOutputs(job, parts);
      const segmentKeys = storedSegmentKeys(job.videoId, parts);
      const report = await withTempDir(deps, "publish", async (dir) => {
        for (const file of files) {
          await mkdir(dirname(join(dir, file.path)), { recursive: true });
          await writeFile(join(dir, file.path), file.body);
        }
        // Each segment is fetched when the check reaches it and removed once measured: the temp
        // folder holds the playlists and two segments, not the whole video.
        const fetchSegment = async (path: string) => {
          const key = segmentKeys.get(relative(dir, path).split(sep).join("/"));
          if (!key) throw new NotFoundError(path);
          await deps.store.download(key, path, { readOnly: true });
        };
        return checkHls(join(dir, "master.m3u8"), { binaries: deps.binaries, logger, fetchSegment });
      });
      if (!report.ok) {
        const failures = report.failures.map((f) => `${f.rule}${f.rendition ? ` (${f.rendition})` : ""}: ${f.detail}`);
        logger.error({ failures }, "conformance check failed; not publishing");
        const rules = [...new Set(report.failures.map((f) => f.rule))].slice(0, 3).join(", ");
        throw new PermanentError(`the output failed the HLS conformance check: ${failures.slice(0, 5).join("; ")}`, {
          videoId: job.videoId,
          reason: `the encoded video failed vodpipe's HLS conformance check (${rules}), so it was not published`,
        });
      }
      await copyPartFiles(deps, job.videoId, parts);
      // master.m3u8 comes last in `files`: a player finds nothing until everything else is there.
      for (const file of files) {
        await deps.store.put(keys.output(job.videoId, file.path), file.body, { contentType: file.contentType });
      }
      await deps.store.deletePrefix(`${keys.workPrefix(job.videoId)}chunks/`);
      await deps.store.deletePrefix(keys.attemptsPrefix(job.videoId));
      await deps.store.deletePrefix(keys.leadRungState(job.videoId));
      const timestamp = isoNow(deps.now);
      const { warnings, renditions } = summarizeQuality(job, parts);
      const quality = Object.fromEntries(Object.entries(renditions).map(([name, q]) => [name, { psnr: q.psnr, ssim: q.ssim }]));
      if (warnings.length) logger.warn({ warnings }, "chunks of lower quality than their neighbours");
      await writeJob(deps.store, { ...job, status: "ready", updatedAt: timestamp, readyAt: timestamp, playableAt: job.playableAt ?? timestamp, quality, ...(warnings.length ? { warnings } : {}) });
      logger.info({ renditions: job.plan.renditions.length }, "published: ready");
      await announceVideoEvent(deps.send.webhook, { videoId: job.videoId, status: "ready" }, timestamp);
    });
  });
}

/** Where each segment the playlists name is stored: `<rendition>/<uri>` → its attempt's key. */
function storedSegmentKeys(videoId: string, parts: ReadonlyMap<string, PartRecord>): Map<string, string> {
  const stored = new Map<string, string>();
  for (const record of parts.values()) {
    for (const [rendition, segments] of Object.entries(record.segments ?? {})) {
      for (const segment of segments) {
        const path = `${rendition}/${segment.uri}`;
        stored.set(path, record.location ? `${record.location}${path}` : keys.output(videoId, path));
      }
    }
  }
  return stored;
}

/** Copies every file of the attempt each part's marker names into the published tree. */
async function copyPartFiles(deps: PublishDeps, videoId: string, parts: ReadonlyMap<string, PartRecord>): Promise<void> {
  for (const record of parts.values()) {
    if (record.location) await copyAttemptFiles(deps.store, videoId, record.location);
  }
}
