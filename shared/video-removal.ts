import { readJob, writeJob, type JobRecord } from "./job.ts";
import { keys } from "./keys.ts";
import { listAll, type ObjectStore } from "./ports.ts";

/**
 * Deleting a video: its job record becomes a tombstone (status `deleted`) first, so every stage
 * that picks up one of its messages drops it and running work notices and stops; then every other
 * object of the video goes. The tombstone stays: it is what keeps a late message from redoing work.
 */
export async function markVideoDeleted(store: ObjectStore, videoId: string, now: Date, fallback: Pick<JobRecord, "sourceKey">): Promise<void> {
  const existing = await readJob(store, videoId);
  const timestamp = now.toISOString();
  await writeJob(store, {
    videoId,
    sourceKey: existing?.sourceKey ?? fallback.sourceKey,
    createdAt: existing?.createdAt ?? timestamp,
    status: "deleted",
    updatedAt: timestamp,
  });
}

/** Removes the video's source and everything under its folder except the tombstone. Safe to repeat. */
export async function purgeVideoObjects(store: ObjectStore, videoId: string): Promise<void> {
  await store.deletePrefix(keys.sourcePrefix(videoId));
  const folder = keys.videoPrefix(videoId);
  const targets = new Set<string>();
  for (const object of await listAll(store, folder)) {
    if (object.key === keys.job(videoId)) continue;
    const rest = object.key.slice(folder.length);
    const slash = rest.indexOf("/");
    targets.add(folder + (slash < 0 ? rest : rest.slice(0, slash + 1)));
  }
  for (const target of targets) await store.deletePrefix(target);
}

/** True when the video was deleted (or its record is gone): work for it should stop and clean up. */
export async function isVideoDeleted(store: ObjectStore, videoId: string): Promise<boolean> {
  const job = await readJob(store, videoId);
  return !job || job.status === "deleted";
}
