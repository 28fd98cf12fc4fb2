import { NotFoundError, RetryableError } from "../errors.ts";
import { readJob, type JobRecord } from "../job.ts";
import { keys } from "../keys.ts";
import type { Logger } from "../logger.ts";
import { listAll, type ObjectStore } from "../ports.ts";
import { overallProgress, type OverallProgress, type VideoStatus } from "./overall-progress.ts";

/** What a running part writes under `videos/<id>/progress/<part>.json`. */
export interface ProgressRecord {
  part: string;
  /** 0-1. */
  fraction: number;
  updatedAt: string;
}

/** How often a running part writes its record (and looks whether its video was deleted). */
export const PROGRESS_WRITE_INTERVAL_MS = 2000;

export interface ProgressReporter {
  /** Aborted when the video was deleted (or its job is gone): pass it to the work, so ffmpeg stops. */
  readonly signal: AbortSignal;
  /** The latest fraction done (0-1); written at the next tick if it changed. */
  update(fraction: number): void;
  /** Resolves once the tick in flight (a job read and perhaps a write) has ended. */
  settled(): Promise<void>;
  /** Stops the ticks; resolves once a write in flight has ended. */
  stop(): Promise<void>;
}

/**
 * Writes a part's progress every `intervalMs` while it runs (never more often: a store write per
 * ffmpeg progress line would cost more than the encode on S3), and at each tick reads the job: a
 * video deleted meanwhile aborts the returned signal, so the part's ffmpeg is killed at once.
 */
export function startProgressReporter(
  store: ObjectStore,
  videoId: string,
  part: string,
  options: { signal?: AbortSignal; logger?: Logger; intervalMs?: number; now?: () => Date } = {},
): ProgressReporter {
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  const now = options.now ?? (() => new Date());
  let latest = 0;
  let written = -1;
  let inFlight: Promise<void> = Promise.resolve();

  const tick = async () => {
    const job = await readJob(store, videoId);
    if (!job || job.status === "deleted") {
      options.logger?.info({ videoId, part }, "the video was deleted; stopping its work");
      cancel.abort(new RetryableError(`video ${videoId} was deleted while ${part} ran`, { videoId }));
      return;
    }
    if (latest === written) return;
    const record: ProgressRecord = { part, fraction: latest, updatedAt: now().toISOString() };
    await store.put(keys.progress(videoId, part), JSON.stringify(record), { contentType: "application/json" });
    written = record.fraction;
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(tick).catch((error: unknown) => options.logger?.warn({ err: error, part }, "progress record not written"));
  }, options.intervalMs ?? PROGRESS_WRITE_INTERVAL_MS);
  timer.unref();

  return {
    signal,
    update(fraction) {
      if (Number.isFinite(fraction)) latest = Math.min(1, Math.max(latest, fraction));
    },
    settled: () => inFlight,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** Everything overallProgress needs about one video, read from the store. */
export async function readVideoProgress(
  store: ObjectStore,
  job: JobRecord | undefined,
  status: VideoStatus,
  nowMs: number,
): Promise<OverallProgress & { finishedParts: string[] }> {
  if (!job?.plan || status !== "processing") {
    return { ...overallProgress({ status, plan: job?.plan, finishedParts: [], partFractions: {}, nowMs }), finishedParts: [] };
  }
  const partsPrefix = keys.partsPrefix(job.videoId);
  const progressPrefix = keys.progressPrefix(job.videoId);
  const [markers, records] = await Promise.all([listAll(store, partsPrefix), listAll(store, progressPrefix)]);
  const finishedParts = markers.map((object) => object.key.slice(partsPrefix.length).replace(/\.json$/, ""));
  const partFractions: Record<string, number> = {};
  await Promise.all(
    records.map(async (object) => {
      try {
        const record = JSON.parse((await store.getBuffer(object.key)).toString("utf8")) as ProgressRecord;
        if (typeof record.fraction === "number") partFractions[record.part] = record.fraction;
      } catch (error) {
        // Deleted between the listing and the read (the part finished and its video was removed).
        if (!(error instanceof NotFoundError) && !(error instanceof SyntaxError)) throw error;
      }
    }),
  );
  const progress = overallProgress({
    status,
    plan: job.plan,
    finishedParts,
    partFractions,
    startedAtMs: Date.parse(job.createdAt),
    nowMs,
  });
  return { ...progress, finishedParts };
}
