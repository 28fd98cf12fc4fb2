import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer as readAll } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError, NotFoundError, PermanentError } from "../../shared/errors.ts";
import { listAll, type ObjectStore } from "../../shared/ports.ts";

export interface StoreUnderTest {
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

const MiB = 1024 * 1024;

/** `count` MiB of bytes that differ per MiB, yielded one MiB at a time, so a misplaced part shows. */
function mebibytes(count: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < count; i++) yield Buffer.alloc(MiB, i + 1);
    })(),
  );
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A stream that yields `first`, then fails. */
function failingStream(first: string): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(first);
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error("disk unplugged midway");
    })(),
  );
}

/** `size` bytes of a pattern that repeats every 251 bytes (a prime), so a shifted or dropped block shows. */
function patterned(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

/**
 * The behaviour every ObjectStore adapter must have. `makeStore` returns a fresh, empty store
 * for each test and a cleanup that removes what the test left behind.
 */
export function objectStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    /** A local folder for upload and download, removed after each test. */
    let local: string;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      local = await mkdtemp(join(tmpdir(), "vodpipe-store-files-"));
    });
    afterEach(async () => {
      await rm(local, { recursive: true, force: true });
      await cleanup();
    });

    it("round-trips a Buffer through get and getBuffer", async () => {
      await store.put("videos/v1/meta.bin", Buffer.from([0, 1, 2, 250, 255]));
      expect(await store.getBuffer("videos/v1/meta.bin")).toEqual(Buffer.from([0, 1, 2, 250, 255]));
      expect(await readAll(await store.get("videos/v1/meta.bin"))).toEqual(Buffer.from([0, 1, 2, 250, 255]));
    });

    it("round-trips a string as UTF-8 and a Uint8Array", async () => {
      await store.put("notes/hello.txt", "héllo ✓");
      await store.put("notes/raw.bin", new Uint8Array([9, 8, 7]));
      expect((await store.getBuffer("notes/hello.txt")).toString("utf8")).toBe("héllo ✓");
      expect((await store.head("notes/hello.txt"))?.size).toBe(10);
      expect(await store.getBuffer("notes/raw.bin")).toEqual(Buffer.from([9, 8, 7]));
    });

    it("round-trips a stream", async () => {
      await store.put("videos/v1/seg.ts", Readable.from([Buffer.from("abc"), Buffer.from("def"), Buffer.from("g")]));
      expect((await store.getBuffer("videos/v1/seg.ts")).toString()).toBe("abcdefg");
    });

    it("overwrites an object, size included", async () => {
      await store.put("job.json", '{"state":"queued","attempts":0}');
      await store.put("job.json", '{"state":"ready"}');
      expect((await store.getBuffer("job.json")).toString()).toBe('{"state":"ready"}');
      expect((await store.head("job.json"))?.size).toBe(17);
    });

    it("uploads a local file and downloads it to another, byte for byte", async () => {
      const bytes = patterned(3 * MiB + 5);
      await writeFile(join(local, "source.mp4"), bytes);
      await store.upload("videos/v1/source.mp4", join(local, "source.mp4"));
      expect(await store.head("videos/v1/source.mp4")).toMatchObject({ size: 3 * MiB + 5, contentType: "video/mp4" });
      await store.download("videos/v1/source.mp4", join(local, "copy.mp4"));
      const back = await readFile(join(local, "copy.mp4"));
      expect(back.length).toBe(3 * MiB + 5);
      expect(sha256(back)).toBe(sha256(bytes));
      expect([...back.subarray(3 * MiB, 3 * MiB + 5)]).toEqual([196, 197, 198, 199, 200]);
    });

    it("uploads over an existing object, and downloads over an existing file", async () => {
      await store.put("job.json", '{"state":"queued","attempts":0}');
      await writeFile(join(local, "job.json"), '{"state":"ready"}');
      await store.upload("job.json", join(local, "job.json"));
      expect((await store.getBuffer("job.json")).toString()).toBe('{"state":"ready"}');
      expect((await store.head("job.json"))?.size).toBe(17);

      await writeFile(join(local, "old.json"), "a longer file that was there before");
      await store.download("job.json", join(local, "old.json"));
      expect(await readFile(join(local, "old.json"), "utf8")).toBe('{"state":"ready"}');
    });

    it("readOnly transfers stay independent of later changes on the other side", async () => {
      const bytes = patterned(MiB + 3);
      await writeFile(join(local, "chunk.mkv"), bytes);
      await store.upload("videos/v1/chunks/0.mkv", join(local, "chunk.mkv"), { readOnly: true });
      await rm(join(local, "chunk.mkv"));
      expect(sha256(await store.getBuffer("videos/v1/chunks/0.mkv"))).toBe(sha256(bytes));

      await writeFile(join(local, "in.mkv"), "a file that was there before");
      await store.download("videos/v1/chunks/0.mkv", join(local, "in.mkv"), { readOnly: true });
      await store.put("videos/v1/chunks/0.mkv", "replaced");
      expect(sha256(await readFile(join(local, "in.mkv")))).toBe(sha256(bytes));
      await store.download("videos/v1/chunks/0.mkv", join(local, "second.mkv"), { readOnly: true });
      await store.deletePrefix("videos/v1/");
      expect(await readFile(join(local, "second.mkv"), "utf8")).toBe("replaced");

      await expect(store.download("videos/v1/chunks/0.mkv", join(local, "gone.mkv"), { readOnly: true })).rejects.toThrow(NotFoundError);
      expect(existsSync(join(local, "gone.mkv"))).toBe(false);
      await expect(store.upload("videos/v1/chunks/1.mkv", join(local, "missing.mkv"), { readOnly: true })).rejects.toThrow(/missing\.mkv/);
      expect(await store.head("videos/v1/chunks/1.mkv")).toBeUndefined();
    });

    it("uploads a file bigger than one part intact (multipart where the adapter does that)", async () => {
      const bytes = await readAll(mebibytes(9));
      await writeFile(join(local, "big.mkv"), bytes);
      await store.upload("videos/big/chunk-0.mkv", join(local, "big.mkv"));
      expect((await store.head("videos/big/chunk-0.mkv"))?.size).toBe(9 * MiB);
      await store.download("videos/big/chunk-0.mkv", join(local, "back.mkv"));
      expect(sha256(await readFile(join(local, "back.mkv")))).toBe(sha256(bytes));
    });

    it("uploads with the content type put would store for the same options", async () => {
      await writeFile(join(local, "seg"), Buffer.alloc(188, 0x47));
      await store.upload("videos/v1/hls/720p/seg-00001.ts", join(local, "seg"), { contentType: "video/mp2t" });
      expect(await store.head("videos/v1/hls/720p/seg-00001.ts")).toMatchObject({ size: 188, contentType: "video/mp2t" });
      // A key with no extension: the adapters that store PutOptions keep image/jpeg, the others say octet-stream.
      await store.put("videos/v1/put-poster", Buffer.alloc(188, 0x47), { contentType: "image/jpeg" });
      await store.upload("videos/v1/poster", join(local, "seg"), { contentType: "image/jpeg" });
      const put = await store.head("videos/v1/put-poster");
      expect(put?.contentType).toBeOneOf(["image/jpeg", "application/octet-stream"]);
      expect((await store.head("videos/v1/poster"))?.contentType).toBe(put?.contentType);
    });

    it("rejects a download of a missing object with NotFoundError and writes no file", async () => {
      await store.put("videos/v1/source.mp4", "x");
      for (const key of ["videos/nope/source.mp4", "videos/v1", "videos/v1/source.mp4/deeper"]) {
        await expect(store.download(key, join(local, "out.mp4")), key).rejects.toThrow(new NotFoundError(key));
        expect(existsSync(join(local, "out.mp4")), key).toBe(false);
      }
    });

    it("rejects an upload of a missing local file and stores nothing", async () => {
      await expect(store.upload("videos/v1/source.mp4", join(local, "missing.mp4"))).rejects.toThrow(/missing\.mp4/);
      expect(await store.head("videos/v1/source.mp4")).toBeUndefined();
      await store.put("videos/v2/source.mp4", "the old bytes");
      await expect(store.upload("videos/v2/source.mp4", join(local, "missing.mp4"))).rejects.toThrow(/missing\.mp4/);
      expect((await store.getBuffer("videos/v2/source.mp4")).toString()).toBe("the old bytes");
      expect(await listAll(store, "")).toMatchObject([{ key: "videos/v2/source.mp4" }]);
    });

    it("reads byte ranges with an inclusive end, like HTTP", async () => {
      await store.put("r.bin", "0123456789");
      expect((await readAll(await store.get("r.bin", { start: 6 }))).toString()).toBe("6789");
      expect((await readAll(await store.get("r.bin", { start: 2, end: 4 }))).toString()).toBe("234");
      expect((await readAll(await store.get("r.bin", { start: 0, end: 0 }))).toString()).toBe("0");
      expect((await readAll(await store.get("r.bin", { start: 8, end: 99 }))).toString()).toBe("89");
    });

    it("rejects a range starting past the end as permanent, and a malformed range", async () => {
      await store.put("r.bin", "0123456789");
      await expect(store.get("r.bin", { start: 10 })).rejects.toBeInstanceOf(PermanentError);
      await expect(store.get("r.bin", { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.get("r.bin", { start: -1 })).rejects.toBeInstanceOf(RangeError);
    });

    it("heads an object: size, date, content type from the extension", async () => {
      const before = Date.now();
      await store.put("videos/v1/hls/master.m3u8", "#EXTM3U\n");
      await store.put("videos/v1/hls/720p/seg-00001.ts", Buffer.alloc(188, 0x47));
      const playlist = await store.head("videos/v1/hls/master.m3u8");
      expect(playlist).toMatchObject({ key: "videos/v1/hls/master.m3u8", size: 8, contentType: "application/vnd.apple.mpegurl" });
      expect(playlist!.lastModified.getTime()).toBeGreaterThan(before - 5_000);
      expect(playlist!.lastModified.getTime()).toBeLessThan(Date.now() + 5_000);
      expect(await store.head("videos/v1/hls/720p/seg-00001.ts")).toMatchObject({ size: 188, contentType: "video/mp2t" });
    });

    it("heads a missing object as undefined, and a folder-like prefix is not an object", async () => {
      await store.put("videos/v1/source.mp4", "x");
      expect(await store.head("videos/v1/missing.mp4")).toBeUndefined();
      expect(await store.head("videos/v1")).toBeUndefined();
      expect(await store.head("nowhere/at/all")).toBeUndefined();
    });

    it("throws NotFoundError from get and getBuffer of a missing object", async () => {
      await expect(store.get("videos/nope/source.mp4")).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.get("videos/nope/source.mp4", { start: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.getBuffer("videos/nope/source.mp4")).rejects.toThrow(
        new NotFoundError("videos/nope/source.mp4"),
      );
    });

    it("lists by prefix in lexicographic key order, one page of `limit` at a time", async () => {
      // Written out of order; "-" < "/" < "0" in byte order, so folder and file names interleave.
      for (const key of ["a/z", "a/b0", "ab/x", "a/c/d/e", "a/b/2", "b", "a/b-1"]) await store.put(key, key);

      const first = await store.list("a/", { limit: 2 });
      expect(first.objects.map((o) => o.key)).toEqual(["a/b-1", "a/b/2"]);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await store.list("a/", { limit: 2, cursor: first.nextCursor });
      expect(second.objects.map((o) => o.key)).toEqual(["a/b0", "a/c/d/e"]);
      const third = await store.list("a/", { limit: 2, cursor: second.nextCursor });
      expect(third.objects.map((o) => o.key)).toEqual(["a/z"]);
      expect(third.nextCursor).toBeUndefined();

      expect(first.objects[0]).toMatchObject({ key: "a/b-1", size: 5 });
      expect(first.objects[0]!.lastModified).toBeInstanceOf(Date);
    });

    it("lists a partial name prefix, everything, and nothing", async () => {
      for (const key of ["a/z", "a/b0", "ab/x", "a/b/2", "b"]) await store.put(key, "1");
      expect((await store.list("a/b")).objects.map((o) => o.key)).toEqual(["a/b/2", "a/b0"]);
      expect((await listAll(store, "")).map((o) => o.key)).toEqual(["a/b/2", "a/b0", "a/z", "ab/x", "b"]);
      expect(await store.list("c/")).toEqual({ objects: [] });
      // Exactly `limit` keys left: no further page.
      expect((await store.list("a/", { limit: 3 })).nextCursor).toBeUndefined();
    });

    it("deletes every object under a prefix and returns the count", async () => {
      for (const key of ["a/1", "a/2/x", "a/2/y", "a/3/deep/er", "ab/x", "b"]) await store.put(key, "1");
      expect(await store.deletePrefix("a/")).toBe(4);
      expect(await store.list("a/")).toEqual({ objects: [] });
      expect((await listAll(store, "")).map((o) => o.key)).toEqual(["ab/x", "b"]);
      expect(await store.deletePrefix("a/")).toBe(0);
      // The same keys can be written again after their folders went away.
      await store.put("a/2/x", "again");
      expect((await store.getBuffer("a/2/x")).toString()).toBe("again");
    });

    it("copies an object to another key; the copy stays when the original is replaced or deleted", async () => {
      await store.put("videos/v/work/attempts/a b/seg-00000.ts", patterned(1000));
      await store.copy("videos/v/work/attempts/a b/seg-00000.ts", "videos/v/hls/360p/seg-00000.ts");
      expect((await store.getBuffer("videos/v/hls/360p/seg-00000.ts")).equals(patterned(1000))).toBe(true);
      expect((await store.head("videos/v/hls/360p/seg-00000.ts"))?.contentType).toBe("video/mp2t");
      await store.copy("videos/v/work/attempts/a b/seg-00000.ts", "videos/v/hls/360p/seg-00000.ts");
      await store.put("videos/v/work/attempts/a b/seg-00000.ts", "replaced");
      await store.deletePrefix("videos/v/work/");
      expect((await store.getBuffer("videos/v/hls/360p/seg-00000.ts")).equals(patterned(1000))).toBe(true);
      await expect(store.copy("videos/v/work/missing.ts", "videos/v/hls/x.ts")).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.head("videos/v/hls/x.ts")).toBeUndefined();
    });

    it("stores a 12 MiB stream intact (multipart where the adapter does that)", async () => {
      await store.put("videos/big/source.mp4", mebibytes(12));
      expect((await store.head("videos/big/source.mp4"))?.size).toBe(12 * MiB);
      const back = await store.getBuffer("videos/big/source.mp4");
      expect(sha256(back)).toBe(sha256(await readAll(mebibytes(12))));
      const across = await readAll(await store.get("videos/big/source.mp4", { start: 8 * MiB - 2, end: 8 * MiB + 1 }));
      expect([...across]).toEqual([8, 8, 9, 9]);
    });

    it("keeps the old object when a streamed put fails midway", async () => {
      await store.put("videos/v1/source.mp4", "the old bytes");
      await expect(store.put("videos/v1/source.mp4", failingStream("the new by"))).rejects.toThrow();
      expect((await store.getBuffer("videos/v1/source.mp4")).toString()).toBe("the old bytes");
      await expect(store.put("videos/v2/source.mp4", failingStream("partial"))).rejects.toThrow();
      expect(await store.head("videos/v2/source.mp4")).toBeUndefined();
    });

    it("rejects unsafe keys and prefixes with InvalidKeyError naming the key", async () => {
      for (const key of ["", "/etc/passwd", "../outside", "a/../../b", "a\\b", "a\0b", "a//b", "a/", "./a"]) {
        await expect(store.put(key, "x"), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.get(key), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.getBuffer(key), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.head(key), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.download(key, join(local, "out")), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.upload(key, join(local, "in")), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
      }
      await expect(store.put("a/../b", "x")).rejects.toThrow('invalid object key "a/../b": must not contain a ".." segment');
      await expect(store.list("../")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.deletePrefix("/")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.deletePrefix("")).rejects.toBeInstanceOf(InvalidKeyError);
      expect(await listAll(store, "")).toEqual([]);
      expect(existsSync(join(local, "out"))).toBe(false);
    });

    it("presigns a GET that fetch can read", async (context) => {
      if (!store.presign) return context.skip();
      await store.put("videos/v1/hls/master.m3u8", "#EXTM3U\n#EXT-X-VERSION:7\n");
      const url = await store.presign("videos/v1/hls/master.m3u8", { method: "GET", expiresInSeconds: 60 });
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("#EXTM3U\n#EXT-X-VERSION:7\n");
    });

    it("presigns a PUT that fetch can upload to", async (context) => {
      if (!store.presign) return context.skip();
      const url = await store.presign("sources/v9/source.mp4", { method: "PUT", expiresInSeconds: 60, contentType: "video/mp4" });
      const response = await fetch(url, { method: "PUT", body: "uploaded bytes", headers: { "content-type": "video/mp4" } });
      expect(response.status).toBe(200);
      expect((await store.getBuffer("sources/v9/source.mp4")).toString()).toBe("uploaded bytes");
      expect(await store.head("sources/v9/source.mp4")).toMatchObject({ size: 14, contentType: "video/mp4" });
    });
  });
}
