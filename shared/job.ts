import type { ObjectStore } from "./ports.ts";
import { NotFoundError, sanitizeReason } from "./errors.ts";
import { keys } from "./keys.ts";
import type { Rendition } from "./media/ladder.ts";
import type { ChunkPlan } from "./media/chunk-plan.ts";
import type { QualityWarning } from "./media/encoder-quality.ts";
import type { SourceInfo } from "./media/source-info.ts";

/** `deleted` is the tombstone DELETE leaves so late messages for the video are dropped. */
export type JobStatus = "processing" | "ready" | "failed" | "deleted";

export type FailureCause = "input" | "processing" | "interrupted";

/** What ingest decided; every later stage reads it instead of probing again. */
export interface JobPlan {
  segmentSeconds: number;
  x264Preset: string;
  renditions: Rendition[];
  chunks: ChunkPlan;
  /** Whether the picture needs tone-mapping (HDR) or deinterlacing. */
  toneMap: "pq" | "hlg" | null;
  hasAudio: boolean;
  /**
   * The rendition encoded for the whole video in one pass, before and beside the chunks, and
   * published segment by segment (shared/media/lead-rung.ts). Null or absent: the chunks make every rung.
   */
  leadRung?: string | null;
  /** The parts publish waits for: chunk-000…, audio, thumbnails (and rung-<name>). */
  parts: string[];
}

export type StoredSource = Omit<SourceInfo, "video"> & { video: Omit<SourceInfo["video"], "keyframeTimes"> };

/** One video's state, kept as a small JSON document next to its outputs. */
export interface JobRecord {
  videoId: string;
  status: JobStatus;
  /** For `failed`: what went wrong, in words a person can act on. */
  reason?: string;
  /**
   * For `failed`: whose fault. `input`: the upload cannot be made into a video (absent in records
   * written before this field, which only inputs failed); `processing`: vodpipe or the machine
   * could not finish it (retries used up, dead-lettered); `interrupted`: the run was stopped.
   */
  failedBecause?: FailureCause;
  sourceKey: string;
  originalName?: string;
  createdAt: string;
  updatedAt: string;
  source?: StoredSource;
  plan?: JobPlan;
  readyAt?: string;
  /** When a player could first start the video from the beginning (progressive publish); at the latest readyAt. */
  playableAt?: string;
  /** Chunks whose measured quality fell well below their neighbours' (see encoder-quality.ts). */
  warnings?: QualityWarning[];
  /** Per rendition name: luma PSNR (dB) and SSIM against the scaled source, frame-weighted means. */
  quality?: Record<string, { psnr: number; ssim: number }>;
}

export async function readJob(store: ObjectStore, videoId: string): Promise<JobRecord | undefined> {
  return readJsonObjectIfExists<JobRecord>(store, keys.job(videoId));
}

export async function writeJob(store: ObjectStore, job: JobRecord): Promise<void> {
  await store.put(keys.job(job.videoId), JSON.stringify(job, null, 2), { contentType: "application/json" });
}

/**
 * Marks a job failed with a reason; a job already `ready` or `deleted` is left alone (a late duplicate failing).
 * Every failed job's reason is written here, so this is where it is held to words a person can
 * act on: no command line, no path (pass publicReason(error), never error.message).
 */
export async function markFailed(
  store: ObjectStore,
  videoId: string,
  reason: string,
  fallback: { sourceKey: string; originalName?: string },
  now: () => Date = () => new Date(),
  because: FailureCause = "input",
): Promise<JobRecord> {
  const existing = await readJob(store, videoId);
  if (existing?.status === "ready" || existing?.status === "deleted") return existing;
  const timestamp = now().toISOString();
  const job: JobRecord = {
    ...(existing ?? { videoId, sourceKey: fallback.sourceKey, originalName: fallback.originalName, createdAt: timestamp }),
    status: "failed",
    reason: sanitizeReason(reason),
    failedBecause: because,
    updatedAt: timestamp,
  };
  await writeJob(store, job);
  return job;
}

export async function readJsonObject<T>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse((await store.getBuffer(key)).toString("utf8")) as T;
}

/** A stored JSON record, or undefined when there is none (any other failure is thrown). */
export async function readJsonObjectIfExists<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return await readJsonObject<T>(store, key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
