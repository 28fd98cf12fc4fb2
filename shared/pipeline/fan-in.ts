import { randomUUID } from "node:crypto";
import { readJob } from "../job.ts";
import { keys } from "../keys.ts";
import type { DeadlineConfig } from "../media/deadlines.ts";
import type { FfmpegBinaries } from "../media/ffmpeg-binaries.ts";
import { listAll } from "../ports.ts";
import { isoNow } from "./clock.ts";
import { failJobOnPermanentError, type ActiveJob, type JobStoreDeps } from "./job-guard.ts";
import type { PartRecord } from "./part-record.ts";
import type { Send, Senders } from "./senders.ts";
import { withTempDir, type TempDirSettings } from "./temp-dir.ts";

/** What a part of a job (a chunk, the audio, the thumbnails) needs to record itself and fan in. */
export interface PartDeps extends JobStoreDeps, TempDirSettings {
  send: Senders<"publish">;
  /** Given only when the webhook asks for video.progress: each finished part announces one (the webhook stage throttles). */
  progressEvents?: Send<"webhook">;
}

/** A part made by running ffmpeg: the binary, its child-process deadlines and its threads too. */
export interface EncodingPartDeps extends PartDeps {
  binaries: Pick<FfmpegBinaries, "ffmpeg">;
  deadlines: DeadlineConfig;
  /** ffmpeg threads. */
  threads: number;
}

export async function partExists(deps: Pick<PartDeps, "store">, videoId: string, part: string): Promise<boolean> {
  return (await deps.store.head(keys.part(videoId, part))) !== undefined;
}

/**
 * Fan-in without a database: write this part's marker, then list the markers; whoever sees every
 * part enqueues publish (several may; publish is idempotent).
 */
export async function completePart(deps: PartDeps, job: ActiveJob, record: PartRecord | undefined, afterRecord?: () => Promise<void>): Promise<void> {
  if (record) {
    await deps.store.put(keys.part(job.videoId, record.part), JSON.stringify(record, null, 2), { contentType: "application/json" });
    // Before the fan-in: whatever this does is done before publish can start.
    await afterRecord?.();
    await deps.progressEvents?.({ type: "video-event", version: 1, videoId: job.videoId, event: "video.progress", occurredAt: record.finishedAt });
  }
  const prefix = keys.partsPrefix(job.videoId);
  const present = new Set((await listAll(deps.store, prefix)).map((object) => object.key.slice(prefix.length).replace(/\.json$/, "")));
  if (job.plan.parts.every((part) => present.has(part))) {
    await deps.send.publish({ type: "publish-video", version: 1, videoId: job.videoId });
  }
}

/**
 * Runs one part of a job at most once: a part whose marker exists is not redone (a duplicate
 * delivery only repeats the fan-in check). The work gets a temp folder, removed afterwards, and
 * an attempt prefix of its own to store its files under (`location`); a permanent failure marks
 * the job failed.
 *
 * Fencing: an attempt writes only under its own prefix, and its marker (which names that prefix)
 * is written only if no other attempt's marker came first and the job is still processing. So a
 * late duplicate can neither mix its files with another attempt's nor touch a published video:
 * its files are deleted again and publish never copies them.
 */
export async function runPartOnce(
  deps: PartDeps,
  job: ActiveJob,
  part: string,
  work: (dir: string, location: string) => Promise<Pick<PartRecord, "segments" | "codecs" | "details" | "quality">>,
  /** Runs once this attempt's marker is written, before the fan-in check (progressive publish). */
  afterRecord?: () => Promise<void>,
): Promise<void> {
  if (await partExists(deps, job.videoId, part)) {
    await completePart(deps, job, undefined);
    return;
  }
  const startedAt = isoNow(deps.now);
  const location = keys.attempt(job.videoId, part, randomUUID());
  const produced = await failJobOnPermanentError(deps, job, () => withTempDir(deps, part, (dir) => work(dir, location)));
  const current = await readJob(deps.store, job.videoId);
  if (current?.status !== "processing" || (await partExists(deps, job.videoId, part))) {
    await deps.store.deletePrefix(location);
    if (current?.status === "processing") await completePart(deps, job, undefined);
    return;
  }
  await completePart(deps, job, { part, startedAt, finishedAt: isoNow(deps.now), location, ...produced }, afterRecord);
}
