import { readJob, type JobRecord } from "../../shared/job.ts";
import { keys, partNames } from "../../shared/keys.ts";
import type { ObjectStore } from "../../shared/ports.ts";
import type { VideoStatus } from "../../shared/progress/overall-progress.ts";
import { readVideoProgress } from "../../shared/progress/progress-records.ts";
import { signPlaybackToken } from "./playback-token.ts";
import type { VideoObject } from "./schemas.ts";
import { readUploadRecord, type UploadRecord } from "./video-records.ts";

export interface VideoViewOptions {
  now: Date;
  /** Signed playback: playback URLs carry a fresh token in the path. */
  signing?: { key: string; seconds: number };
}

/** The state of a video as stored: its job (from ingest on) and its upload record (before). */
export interface StoredVideo {
  videoId: string;
  job?: JobRecord;
  upload?: UploadRecord;
}

/** Reads what is stored about a video; undefined when it does not exist or was deleted. */
export async function readStoredVideo(store: ObjectStore, videoId: string): Promise<StoredVideo | undefined> {
  const [job, upload] = await Promise.all([readJob(store, videoId), readUploadRecord(store, videoId)]);
  if (job?.status === "deleted" || (!job && !upload)) return undefined;
  return { videoId, job, upload };
}

export function statusOf(video: StoredVideo): VideoStatus {
  const { job, upload } = video;
  if (job && job.status !== "deleted") return job.status;
  return upload?.status === "uploading" ? "uploading" : "queued";
}

/** The video object of the API contract. */
export async function toVideoObject(store: ObjectStore, video: StoredVideo, options: VideoViewOptions): Promise<VideoObject> {
  const { videoId, job, upload } = video;
  const status = statusOf(video);
  const progress = await readVideoProgress(store, job, status, options.now.getTime());
  const finished = new Set(progress.finishedParts);
  const encodingStarted = progress.stage === "encoding" || progress.stage === "publishing";
  const ready = status === "ready";
  // Progressive publish: playable once the lowest rung's growing playlist and the master exist.
  const playable = ready || (status === "processing" && job?.playableAt !== undefined);
  const base = playbackBase(videoId, options);
  const display = job?.source?.video;
  return {
    id: videoId,
    status,
    progress: progress.percent,
    etaSeconds: status === "processing" ? progress.etaSeconds : null,
    stage: progress.stage,
    playable,
    reason: status === "failed" ? (job?.reason ?? "processing failed") : null,
    createdAt: upload?.createdAt ?? job?.createdAt ?? options.now.toISOString(),
    updatedAt: latest(upload?.updatedAt, job?.updatedAt) ?? options.now.toISOString(),
    filename: upload?.filename ?? job?.originalName ?? null,
    size: job?.source?.sizeBytes ?? upload?.size ?? null,
    duration: job?.source ? round3(job.source.durationSeconds) : null,
    width: display?.displayWidth ?? null,
    height: display?.displayHeight ?? null,
    renditions: (job?.plan?.renditions ?? []).map((rendition) => ({
      name: rendition.name,
      width: rendition.width,
      height: rendition.height,
      bandwidth: rendition.videoKbps * 1000,
      status: ready ? "ready" : encodingStarted && status === "processing" ? "processing" : "pending",
      quality: ready && job?.quality?.[rendition.name] ? job.quality[rendition.name]! : null,
    })),
    playback: {
      hls: playable ? `${base}/hls/master.m3u8` : null,
      poster: (await published(store, video, THUMBNAIL_FILES.poster, finished)) ? `${base}/${THUMBNAIL_FILES.poster}` : null,
      storyboard: (await published(store, video, THUMBNAIL_FILES.storyboard, finished)) ? `${base}/${THUMBNAIL_FILES.storyboard}` : null,
    },
  };
}

/** The images of the playback object, as served under the playback base. */
const THUMBNAIL_FILES = { poster: "thumbnails/poster.webp", storyboard: "thumbnails/storyboard.vtt" } as const;

/**
 * Whether a thumbnail file can be fetched now: always once ready (publish wrote it), never before
 * the thumbnails stage finished, and in between only when the object is really there (publish
 * copies thumbnails into place from the stage's staging area), so a reported URL never answers 404.
 */
async function published(store: ObjectStore, video: StoredVideo, path: string, finished: ReadonlySet<string>): Promise<boolean> {
  const status = statusOf(video);
  if (status === "ready") return true;
  if (status !== "processing" || !finished.has(partNames.thumbnails)) return false;
  return (await store.head(keys.output(video.videoId, path))) !== undefined;
}

/** Where a video's playback tree is served: plain, or under a signed token (relative URIs keep working). */
export function playbackBase(videoId: string, options: Pick<VideoViewOptions, "now" | "signing">): string {
  if (!options.signing) return `/v1/videos/${videoId}`;
  const expiresAtSeconds = Math.floor(options.now.getTime() / 1000) + options.signing.seconds;
  return `/v1/play/${signPlaybackToken(videoId, expiresAtSeconds, options.signing.key)}/${videoId}`;
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
