import { markVideoDeleted, purgeVideoObjects } from "../../shared/video-removal.ts";
import { nowOf, type ApiDeps } from "./deps.ts";
import { apiError } from "./http-errors.ts";
import type { VideoObject } from "./schemas.ts";
import { removeCatalogEntry } from "./video-records.ts";
import { readStoredVideo, toVideoObject, type VideoViewOptions } from "./video-view.ts";

export function videoOptions(deps: ApiDeps): VideoViewOptions {
  const { playbackSigningKey, playbackTokenSeconds } = deps.config.api;
  return {
    now: nowOf(deps),
    ...(playbackSigningKey ? { signing: { key: playbackSigningKey, seconds: playbackTokenSeconds } } : {}),
  };
}

export function noSuchVideo(videoId: string) {
  return apiError(404, `No video with id ${videoId} exists.`);
}

/** The video object, or a 404 naming the id. */
export async function loadVideo(deps: ApiDeps, videoId: string): Promise<VideoObject> {
  const stored = await readStoredVideo(deps.store, videoId);
  if (!stored) throw noSuchVideo(videoId);
  return toVideoObject(deps.store, stored, videoOptions(deps));
}

/**
 * DELETE: the tombstone first (stages drop the video's messages; running transcodes see it at
 * their next progress tick and kill their ffmpeg), then a resumable upload in progress, then
 * every object of the video.
 */
export async function deleteVideo(deps: ApiDeps, videoId: string): Promise<void> {
  const stored = await readStoredVideo(deps.store, videoId);
  if (!stored) throw noSuchVideo(videoId);
  const sourceKey = stored.job?.sourceKey ?? stored.upload?.sourceKey ?? "";
  await markVideoDeleted(deps.store, videoId, nowOf(deps), { sourceKey });
  if (stored.upload?.via === "tus" && stored.upload.status === "uploading" && deps.tus) {
    await deps.tus.datastore.remove(`${deps.tus.idPrefix}${videoId}`).catch((error: unknown) => {
      deps.logger.warn({ err: error, videoId }, "could not remove the unfinished tus upload");
    });
  }
  await purgeVideoObjects(deps.store, videoId);
  await removeCatalogEntry(deps.store, videoId, stored.upload?.createdAt);
  deps.logger.info({ videoId, status: stored.job?.status ?? stored.upload?.status }, "video deleted");
}
