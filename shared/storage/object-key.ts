import { extname } from "node:path";
import { InvalidKeyError, PermanentError } from "../errors.ts";
import type { ByteRange } from "../ports.ts";

/** S3's limit on a key, in UTF-8 bytes; the filesystem store keeps to it too. */
const MAX_KEY_BYTES = 1024;

/**
 * Throws InvalidKeyError unless `key` is a relative, slash-separated path that cannot point
 * outside a store's root: no leading slash, no `.`/`..`/empty segments, no backslash, no control
 * characters (NUL included). Both adapters apply the same rules, so a key that works on the
 * filesystem store also works on S3 and the other way round.
 */
export function assertSafeKey(key: string): void {
  const rule = keyRule(key, "key");
  if (rule) throw new InvalidKeyError(`invalid object key ${JSON.stringify(key)}: ${rule}`);
}

/**
 * The rules for a list/delete prefix: empty is allowed (everything), and the last segment may be
 * partial or empty (`videos/ab` matches `videos/abc/x`, `videos/` everything in the folder).
 */
export function assertSafePrefix(prefix: string): void {
  const rule = keyRule(prefix, "prefix");
  if (rule) throw new InvalidKeyError(`invalid object key prefix ${JSON.stringify(prefix)}: ${rule}`);
}

function keyRule(value: string, kind: "key" | "prefix"): string | undefined {
  if (typeof value !== "string") return `must be a string, got ${typeof value}`;
  if (value === "") return kind === "key" ? "must not be empty" : undefined;
  if (Buffer.byteLength(value) > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  if (value.includes("\0")) return "must not contain a NUL byte";
  if (/[\u0000-\u001f\u007f]/.test(value)) return "must not contain control characters";
  if (value.includes("\\")) return "must not contain a backslash";
  if (value.startsWith("/")) return "must be relative (no leading slash)";
  const segments = value.split("/");
  // A prefix's last segment is a partial name: "" (trailing slash), "." or ".." may begin a longer name.
  const whole = kind === "key" ? segments : segments.slice(0, -1);
  for (const segment of whole) {
    if (segment === "") return "must not contain an empty segment (// or a trailing slash)";
    if (segment === "..") return 'must not contain a ".." segment';
    if (segment === ".") return 'must not contain a "." segment';
  }
  return undefined;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".m4s": "video/mp4",
  ".mp4": "video/mp4",
  ".m4v": "video/mp4",
  ".m4a": "audio/mp4",
  ".aac": "audio/aac",
  ".mov": "video/quicktime",
  ".mkv": "video/x-matroska",
  ".webm": "video/webm",
  ".json": "application/json",
  ".vtt": "text/vtt",
  ".webp": "image/webp",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
  ".html": "text/html; charset=utf-8",
};

/** The Content-Type for a key, from its extension; `application/octet-stream` when unknown. */
export function contentTypeForKey(key: string): string {
  return CONTENT_TYPES[extname(key).toLowerCase()] ?? "application/octet-stream";
}

// Argument checks both adapters share, so that they fail the same way.

/** S3 returns at most 1000 keys per page; the filesystem store pages the same. */
export const MAX_LIST_LIMIT = 1000;

export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`list limit must be a positive integer, got ${limit}`);
  return Math.min(limit, MAX_LIST_LIMIT);
}

export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`byte range start must be an integer >= 0, got ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError(`byte range end must be an integer >= start (${start}), got ${end}`);
  }
}

/** Like S3's HTTP 416: a range that starts at or past the end of the object. */
export function rangeNotSatisfiable(key: string, range: ByteRange, size: number): PermanentError {
  return new PermanentError(`byte range ${range.start}-${range.end ?? ""} of ${key} is not satisfiable (${size} bytes)`);
}

/** An empty prefix would delete the whole store: almost certainly a bug (an empty id), never allowed. */
export function assertDeletablePrefix(prefix: string): void {
  if (prefix === "") throw new InvalidKeyError('invalid object key prefix "": deletePrefix refuses to delete every object');
}
