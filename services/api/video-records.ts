import { extname } from "node:path";
import { readJsonObjectIfExists } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import type { ObjectStore } from "../../shared/ports.ts";

/**
 * What the API records about a video before ingest writes its job: it exists from the first byte
 * of an upload (`uploading`), then waits for ingest (`uploaded`, shown as `queued`).
 */
export interface UploadRecord {
  videoId: string;
  status: "uploading" | "uploaded";
  filename: string | null;
  /** Bytes, when known (the declared length of a tus or presigned upload, or what was received). */
  size: number | null;
  sourceKey: string;
  /** How the bytes arrive: raw body, tus, or straight to the bucket. */
  via: "raw" | "tus" | "presigned";
  /** A presigned multipart upload's S3 UploadId, until it is completed. */
  multipartUploadId?: string;
  createdAt: string;
  updatedAt: string;
}

export async function readUploadRecord(store: ObjectStore, videoId: string): Promise<UploadRecord | undefined> {
  return readJsonObjectIfExists<UploadRecord>(store, keys.upload(videoId));
}

export async function writeUploadRecord(store: ObjectStore, record: UploadRecord): Promise<void> {
  await store.put(keys.upload(record.videoId), JSON.stringify(record), { contentType: "application/json" });
}

/** Creates the upload record and the catalog entry, so the video is listed from the start of its upload. */
export async function createUploadRecord(
  store: ObjectStore,
  fields: Pick<UploadRecord, "videoId" | "filename" | "size" | "via">,
  now: Date,
): Promise<UploadRecord> {
  const record: UploadRecord = {
    ...fields,
    status: "uploading",
    sourceKey: keys.source(fields.videoId, sourceExtension(fields.filename)),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await writeUploadRecord(store, record);
  await store.put(keys.catalogEntry(record.videoId, now.getTime()), "", { contentType: "text/plain; charset=utf-8" });
  return record;
}

/** A short, safe extension from an uploader's file name (the name itself is only displayed). */
export function sourceExtension(filename: string | null | undefined): string {
  const extension = extname(filename ?? "").toLowerCase();
  return /^\.[a-z0-9]{1,6}$/.test(extension) ? extension : "";
}

/** One page of the catalog: video ids, newest first. */
export async function listCatalog(store: ObjectStore, limit: number, cursor: string | undefined): Promise<{ ids: string[]; nextCursor: string | null }> {
  const page = await store.list(keys.catalogPrefix, { limit, cursor: cursor === undefined ? undefined : decodeCursor(cursor) });
  const ids = page.objects.map((object) => object.key.slice(object.key.indexOf("-") + 1));
  return { ids, nextCursor: page.nextCursor === undefined ? null : encodeCursor(page.nextCursor) };
}

/** Removes a video's catalog entry (found by listing: its name holds the creation time). */
export async function removeCatalogEntry(store: ObjectStore, videoId: string, createdAt: string | undefined): Promise<void> {
  if (createdAt) await store.deletePrefix(keys.catalogEntry(videoId, Date.parse(createdAt)));
}

// Store cursors are opaque but may hold keys; the API hands out its own URL-safe wrapping.
function encodeCursor(cursor: string): string {
  return Buffer.from(cursor, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, "base64url").toString("utf8");
}
