/**
 * What each stage's Lambda function gets: its size and time limits, the object keys it may read,
 * write and delete, and the queues it hands work to. Pure data, so the stack and its tests read
 * the same table. Key patterns follow shared/keys.ts; IAM's `*` also matches `/`.
 */
import type { Stage } from "../../shared/messages.ts";

/** Lambda gives one vCPU per 1,769 MB of memory (up to six at 10,240 MB). */
export const MB_PER_VCPU = 1769;

/**
 * Video carried by one transcode message on Lambda. Measured here: the 4-rung ladder of a 1080p50
 * chunk costs 3.2 CPU-seconds per second of video with one x264 thread (docs/deploy.md). A 30 s
 * chunk is then about 95 CPU-s, about 40 s on the transcode function's 3 vCPUs: a tenth of its
 * 10-minute timeout, which leaves room for 4K, 60 fps and tone-mapped HDR sources (several times
 * the work) and for slower vCPUs than this machine's.
 */
export const LAMBDA_CHUNK_SECONDS = 30;

/**
 * Largest upload the Lambda deployment accepts. Ingest, split, audio and thumbnails copy the
 * whole source to /tmp (10,240 MB at most), and split holds the source and its chunks at once.
 */
export const LAMBDA_MAX_FILE_BYTES = 4 * 1024 ** 3;

export const KEY_PATTERNS = {
  sources: "sources/*",
  job: "videos/*/job.json",
  chunks: "videos/*/work/chunks/*",
  parts: "videos/*/work/parts/*",
  /** Each attempt at a part writes here; publish copies the attempt its part's marker names. */
  attempts: "videos/*/work/attempts/*",
  hls: "videos/*/hls/*",
  /** The lead rung's segments so far, while its encode runs (progressive publish). */
  leadRung: "videos/*/work/lead-rung.json",
  /** Running parts' progress records, which the API reads for a video's progress. */
  progress: "videos/*/progress/*",
  /** Which webhook events were delivered, so a duplicate message is not delivered twice. */
  webhooks: "videos/*/webhooks/*",
} as const;

export interface StagePlan {
  memoryMb: number;
  timeoutSeconds: number;
  /** /tmp size in MB (512 to 10,240). */
  ephemeralMb: number;
  /** Object key patterns the function may get, put and delete. Every stage may fail its job. */
  reads: readonly string[];
  writes: readonly string[];
  deletes: readonly string[];
  /** The stages whose queues this stage sends to. */
  sendsTo: readonly Stage[];
}

const { sources, job, chunks, parts, attempts, hls, leadRung, progress, webhooks } = KEY_PATTERNS;

export const STAGE_PLANS: { readonly [S in Stage]: StagePlan } = {
  ingest: { memoryMb: 2048, timeoutSeconds: 300, ephemeralMb: 10_240, reads: [sources, job], writes: [job], deletes: [], sendsTo: ["split", "webhook"] },
  split: {
    memoryMb: 2048, timeoutSeconds: 600, ephemeralMb: 10_240,
    reads: [sources, job], writes: [chunks, job], deletes: [],
    sendsTo: ["lead", "transcode", "audio", "thumbnails", "webhook"],
  },
  // The lowest rung of a whole video (up to VODPIPE_LEAD_RUNG_MAX_SECONDS) in one process, read
  // from the source; it copies each segment to hls/ and writes the growing playlists there.
  lead: {
    memoryMb: 3 * MB_PER_VCPU, timeoutSeconds: 900, ephemeralMb: 10_240,
    reads: [sources, job, parts, attempts, hls, leadRung], writes: [attempts, parts, progress, hls, leadRung, job], deletes: [attempts],
    sendsTo: ["publish", "webhook"],
  },
  // transcode and audio publish progressively too: they copy finished segments from their attempts
  // to hls/ and write the growing playlists and the master there.
  transcode: {
    memoryMb: 3 * MB_PER_VCPU, timeoutSeconds: 600, ephemeralMb: 4096,
    reads: [chunks, job, parts, attempts, hls, leadRung], writes: [attempts, parts, progress, hls, job], deletes: [attempts],
    sendsTo: ["publish", "webhook"],
  },
  audio: {
    memoryMb: MB_PER_VCPU, timeoutSeconds: 900, ephemeralMb: 10_240,
    reads: [sources, job, parts, attempts, hls, leadRung], writes: [attempts, parts, progress, hls, job], deletes: [attempts],
    sendsTo: ["publish", "webhook"],
  },
  thumbnails: {
    memoryMb: 2 * MB_PER_VCPU, timeoutSeconds: 900, ephemeralMb: 10_240,
    // It copies the poster and storyboard to hls/ at once, for a video already playable.
    reads: [sources, job, parts, attempts], writes: [attempts, parts, hls, job], deletes: [attempts],
    sendsTo: ["publish", "webhook"],
  },
  publish: {
    memoryMb: 2048, timeoutSeconds: 900, ephemeralMb: 2048,
    reads: [job, parts, attempts, hls], writes: [hls, job], deletes: [chunks, attempts, leadRung],
    sendsTo: ["webhook"],
  },
  // Every stage may fail a video, so every stage sends to the webhook queue.
  webhook: {
    // Its bundle loads every stage's modules (sharp, the AWS SDK) at start: 512 MB leaves room for them.
    memoryMb: 512, timeoutSeconds: 60, ephemeralMb: 512,
    reads: [job, webhooks], writes: [webhooks], deletes: [],
    sendsTo: [],
  },
};

/** vCPUs Lambda gives a function of this size (at least one thread for ffmpeg). */
export function vcpusFor(memoryMb: number): number {
  return Math.max(1, Math.min(6, Math.floor(memoryMb / MB_PER_VCPU)));
}

/** AWS: a queue's visibility timeout should be at least six times its function's timeout. */
export const VISIBILITY_PER_TIMEOUT = 6;
