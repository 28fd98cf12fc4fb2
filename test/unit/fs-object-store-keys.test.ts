import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../shared/errors.ts";
import { assertSafeKey, createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { assertSafePrefix, contentTypeForKey } from "../../shared/storage/object-key.ts";

function verdict(check: (value: string) => void, value: string): string {
  try {
    check(value);
    return "ok";
  } catch (error) {
    if (!(error instanceof InvalidKeyError)) throw error;
    return error.message;
  }
}

describe("assertSafeKey", () => {
  it.each([
    ["videos/abc/hls/master.m3u8"],
    ["a"],
    ["sources/v1/source.MP4"],
    [".hidden/x"],
    ["a/..b/c.."],
    ["a/.../b"],
    ["names with spaces/ünïcødé ✓.json"],
  ])("accepts %j", (key) => {
    expect(verdict(assertSafeKey, key)).toBe("ok");
  });

  it.each([
    ["", 'invalid object key "": must not be empty'],
    ["/etc/passwd", 'invalid object key "/etc/passwd": must be relative (no leading slash)'],
    ["..", 'invalid object key "..": must not contain a ".." segment'],
    ["../x", 'invalid object key "../x": must not contain a ".." segment'],
    ["a/../../etc/passwd", 'invalid object key "a/../../etc/passwd": must not contain a ".." segment'],
    ["a/..", 'invalid object key "a/..": must not contain a ".." segment'],
    ["./a", 'invalid object key "./a": must not contain a "." segment'],
    ["a\\..\\b", 'invalid object key "a\\\\..\\\\b": must not contain a backslash'],
    ["a\0.json", 'invalid object key "a\\u0000.json": must not contain a NUL byte'],
    ["a\nb", 'invalid object key "a\\nb": must not contain control characters'],
    ["a//b", 'invalid object key "a//b": must not contain an empty segment (// or a trailing slash)'],
    ["a/b/", 'invalid object key "a/b/": must not contain an empty segment (// or a trailing slash)'],
    ["x".repeat(1025), `invalid object key "${"x".repeat(1025)}": must be at most 1024 bytes`],
  ])("rejects %j", (key, message) => {
    expect(verdict(assertSafeKey, key)).toBe(message);
  });
});

describe("assertSafePrefix", () => {
  it.each([[""], ["videos/"], ["videos/ab"], ["a/."], ["a/.."]])("accepts %j", (prefix) => {
    expect(verdict(assertSafePrefix, prefix)).toBe("ok");
  });

  it.each([
    ["/", 'invalid object key prefix "/": must be relative (no leading slash)'],
    ["../", 'invalid object key prefix "../": must not contain a ".." segment'],
    ["a//", 'invalid object key prefix "a//": must not contain an empty segment (// or a trailing slash)'],
    ["a\\", 'invalid object key prefix "a\\\\": must not contain a backslash'],
  ])("rejects %j", (prefix, message) => {
    expect(verdict(assertSafePrefix, prefix)).toBe(message);
  });
});

describe("contentTypeForKey", () => {
  it.each([
    ["v/hls/master.m3u8", "application/vnd.apple.mpegurl"],
    ["v/hls/720p/seg-00001.ts", "video/mp2t"],
    ["v/hls/720p/seg-00001.m4s", "video/mp4"],
    ["v/hls/720p/init.mp4", "video/mp4"],
    ["v/audio/seg.aac", "audio/aac"],
    ["v/manifest.json", "application/json"],
    ["v/thumbs/storyboard.vtt", "text/vtt"],
    ["v/thumbs/poster.webp", "image/webp"],
    ["v/thumbs/poster.JPG", "image/jpeg"],
    ["v/thumbs/sprite.png", "image/png"],
    ["v/source", "application/octet-stream"],
    ["v/source.xyz", "application/octet-stream"],
  ])("%s is %s", (key, type) => {
    expect(contentTypeForKey(key)).toBe(type);
  });
});

describe("FsObjectStore on disk", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "vodpipe-fs-store-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => !entry.isDirectory())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)))
      .sort();
  }

  it("stores each key as the file of the same path and leaves no temp file", async () => {
    const store = createFsObjectStore({ root });
    await store.put("videos/v1/job.json", "{}");
    await store.put("videos/v1/job.json", '{"state":"ready"}');
    await store.put("videos/v1/hls/seg.ts", Readable.from([Buffer.from("ts")]));
    expect(await filesUnder(root)).toEqual(["videos/v1/hls/seg.ts", "videos/v1/job.json"]);
  });

  it("leaves the old object and no temp file when a streamed put fails midway", async () => {
    const store = createFsObjectStore({ root });
    await store.put("videos/v1/source.mp4", "old");
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(64 * 1024, 1);
        throw new Error("connection reset");
      })(),
    );
    await expect(store.put("videos/v1/source.mp4", failing)).rejects.toThrow("connection reset");
    expect(await filesUnder(root)).toEqual(["videos/v1/source.mp4"]);
    expect((await store.getBuffer("videos/v1/source.mp4")).toString()).toBe("old");
  });

  it("never lists its temp folder and refuses keys inside it", async () => {
    const store = createFsObjectStore({ root });
    await mkdir(join(root, ".tmp"), { recursive: true });
    await writeFile(join(root, ".tmp", "left-by-a-crash.part"), "x");
    await store.put("a.json", "{}");
    expect((await store.list("")).objects.map((o) => o.key)).toEqual(["a.json"]);
    await expect(store.put(".tmp/x", "x")).rejects.toThrow(
      'invalid object key ".tmp/x": ".tmp/" is reserved for the filesystem store\'s temporary files',
    );
  });

  it("removes folders that deletePrefix leaves empty, and only those", async () => {
    const store = createFsObjectStore({ root });
    for (const key of ["videos/v1/hls/720p/a.ts", "videos/v1/hls/master.m3u8", "videos/v2/job.json"]) await store.put(key, "1");
    expect(await store.deletePrefix("videos/v1/")).toBe(2);
    expect(await readdir(join(root, "videos"))).toEqual(["v2"]);
    expect(await store.deletePrefix("videos/v2/job.json")).toBe(1);
    expect((await readdir(root)).filter((name) => name !== ".tmp")).toEqual([]);
  });

  it("rejects a key that would need a file to also be a folder", async () => {
    const store = createFsObjectStore({ root });
    await store.put("videos/v1", "a file");
    await expect(store.put("videos/v1/job.json", "{}")).rejects.toBeInstanceOf(InvalidKeyError);
    await store.put("videos/v2/job.json", "{}");
    await expect(store.put("videos/v2", "x")).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await filesUnder(root)).toEqual(["videos/v1", "videos/v2/job.json"]);
  });

  it("lists keys beyond the basic plane in UTF-8 byte order, like S3", async () => {
    const store = createFsObjectStore({ root });
    // U+FF5E sorts before U+1F600 in UTF-8 bytes, after it in UTF-16 code units.
    for (const key of ["k/\u{1F600}", "k/\uFF5E"]) await store.put(key, "1");
    expect((await store.list("k/")).objects.map((o) => o.key)).toEqual(["k/\uFF5E", "k/\u{1F600}"]);
  });
});
