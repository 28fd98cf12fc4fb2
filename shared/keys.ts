import { isVideoId } from "./messages.ts";

/**
 * Where everything lives in the object store. One function per kind of object, so every service
 * derives the same deterministic key (re-running a step overwrites, never duplicates).
 */
const pad = (n: number, width: number) => String(n).padStart(width, "0");
/** Catalog names count down from this instant (year 5138), so a plain ascending listing is newest first. */
const CATALOG_EPOCH_END = 99_999_999_999_999;

export const keys = {
  sourcePrefix: (videoId: string) => `sources/${videoId}/`,
  source: (videoId: string, extension: string) => `sources/${videoId}/source${extension}`,
  videoPrefix: (videoId: string) => `videos/${videoId}/`,
  job: (videoId: string) => `videos/${videoId}/job.json`,
  workPrefix: (videoId: string) => `videos/${videoId}/work/`,
  chunk: (videoId: string, index: number) => `videos/${videoId}/work/chunks/chunk-${pad(index, 3)}.mkv`,
  partsPrefix: (videoId: string) => `videos/${videoId}/work/parts/`,
  /**
   * Where one attempt at a part writes its files: never under the published prefix, so a late
   * duplicate (a worker that lost its message and carried on) cannot change a published video.
   * Publish copies the files of the attempt each part's marker names.
   */
  attempt: (videoId: string, part: string, attemptId: string) => `videos/${videoId}/work/attempts/${part}/${attemptId}/`,
  attemptsPrefix: (videoId: string) => `videos/${videoId}/work/attempts/`,
  part: (videoId: string, part: string) => `videos/${videoId}/work/parts/${part}.json`,
  /** What the API knows of an upload before ingest writes the job (status, file name, size). */
  upload: (videoId: string) => `videos/${videoId}/upload.json`,
  /** Running parts' throttled progress records (`chunk-003.json`: the fraction done). */
  progressPrefix: (videoId: string) => `videos/${videoId}/progress/`,
  progress: (videoId: string, part: string) => `videos/${videoId}/progress/${part}.json`,
  /**
   * The lead rung's segments published so far (while its encode runs), with their attempt and
   * codec: what progressive publish builds the master from before the rung's part marker exists.
   */
  leadRungState: (videoId: string) => `videos/${videoId}/work/lead-rung.json`,
  /** The list of videos, newest first: one empty object per video, named by inverted creation time. */
  catalogPrefix: "catalog/",
  catalogEntry: (videoId: string, createdAtMs: number) => `catalog/${(CATALOG_EPOCH_END - createdAtMs).toString(36).padStart(9, "0")}-${videoId}`,
  /** Marks a webhook event as delivered, so a duplicate message is not delivered again. */
  webhookDelivered: (videoId: string, event: string) => `videos/${videoId}/webhooks/${event}.json`,
  /** Everything a viewer may fetch sits under this prefix. */
  outputPrefix: (videoId: string) => `videos/${videoId}/hls/`,
  output: (videoId: string, path: string) => `videos/${videoId}/hls/${path}`,
};

/**
 * The video an object key is the upload of: only `sources/<videoId>/source` with an optional
 * short extension starts a job. Anything else in the bucket (vodpipe's own `videos/…` writes,
 * other files beside an upload) is no upload, so a bucket-wide notification cannot loop.
 */
export function videoIdOfSourceKey(key: string): string | undefined {
  const folder = /^sources\/([^/]+)\/source(?:\.[A-Za-z0-9]{1,8})?$/.exec(key)?.[1];
  return isVideoId(folder) ? folder : undefined;
}

export const partNames = {
  chunk: (index: number) => `chunk-${pad(index, 3)}`,
  /** The lead rung's whole-video encode (shared/media/lead-rung.ts). */
  rung: (rendition: string) => `rung-${rendition}`,
  audio: "audio",
  thumbnails: "thumbnails",
};

