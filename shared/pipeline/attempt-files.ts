import { keys } from "../keys.ts";
import { mapWithLimit } from "../map-with-limit.ts";
import { listAll, type ObjectStore } from "../ports.ts";

/** Copies at once: S3 copies run server-side, so a long video's thousands of segments need many in flight. */
const COPY_CONCURRENCY = 16;

/** Copies every file an attempt wrote (under its `location`) to the same path in the video's published tree. */
export async function copyAttemptFiles(store: ObjectStore, videoId: string, location: string): Promise<void> {
  const objects = await listAll(store, location);
  await mapWithLimit(objects, COPY_CONCURRENCY, (object) => store.copy(object.key, keys.output(videoId, object.key.slice(location.length))));
}
