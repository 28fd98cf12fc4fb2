import { randomUUID } from "node:crypto";
import { constants, type Dirent, type Stats } from "node:fs";
import { copyFile, link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { InvalidKeyError, NotFoundError } from "../errors.ts";
import type { ByteRange, FileOptions, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from "../ports.ts";
import {
  assertDeletablePrefix,
  assertSafeKey,
  assertSafePrefix,
  assertValidRange,
  contentTypeForKey,
  listLimit,
  rangeNotSatisfiable,
} from "./object-key.ts";

export { assertSafeKey } from "./object-key.ts";

export interface FsObjectStoreOptions {
  /** The folder holding the objects; created on the first put. */
  root: string;
}

/** Temp files live here, inside the root so that rename stays on one filesystem; never listed. */
const TEMP_DIR = ".tmp";

/**
 * Hard-links `from` at `to`, replacing a file there: no byte is copied, and neither name sees a
 * later replacement of the other (the store replaces objects by rename). False when a link cannot
 * be made (another filesystem, links not allowed, a folder in the way, a missing file): the caller
 * then copies, which also reports those errors properly.
 */
async function linkReplacing(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) !== "EEXIST") return false;
  }
  try {
    await unlink(to);
    await link(from, to);
    return true;
  } catch {
    return false;
  }
}

/**
 * The embedded ObjectStore: one file per key under `root`. A put writes and fsyncs a temp file,
 * then renames it over the target, so readers see the old bytes or the new ones, never a part.
 * download and upload copy whole files with copyFile, which the kernel does without passing the
 * bytes through the process (copy_file_range, or a reflink where the filesystem has them); a
 * readOnly transfer on one filesystem is a hard link instead, which copies nothing.
 * The content type comes from the key's extension (PutOptions are not stored).
 */
export function createFsObjectStore({ root }: FsObjectStoreOptions): ObjectStore {
  const base = resolve(root);
  const tempDir = join(base, TEMP_DIR);

  function pathOf(key: string): string {
    assertSafeKey(key);
    if (key === TEMP_DIR || key.startsWith(`${TEMP_DIR}/`)) {
      throw new InvalidKeyError(
        `invalid object key ${JSON.stringify(key)}: "${TEMP_DIR}/" is reserved for the filesystem store's temporary files`,
      );
    }
    const path = join(base, key);
    // The key rules already guarantee this; a second check costs nothing.
    if (!path.startsWith(base + sep)) throw new InvalidKeyError(`invalid object key ${JSON.stringify(key)}: escapes the root`);
    return path;
  }

  async function openObject(key: string): Promise<{ handle: FileHandle; size: number }> {
    const path = pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError(key);
      throw error;
    }
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (!stats.isFile()) {
      await handle.close();
      throw new NotFoundError(key);
    }
    return { handle, size: stats.size };
  }

  async function moveIntoPlace(temp: string, target: string, key: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dirname(target), { recursive: true });
        await rename(temp, target);
        return;
      } catch (error) {
        const code = errorCode(error);
        // A concurrent deletePrefix can remove the folder between mkdir and rename.
        if (code === "ENOENT" && attempt < 3) continue;
        if (code === "ENOTDIR" || code === "EEXIST" || code === "EISDIR" || code === "ENOTEMPTY") {
          throw new InvalidKeyError(
            `invalid object key ${JSON.stringify(key)}: on the filesystem store a key cannot be both an object and the folder of other objects`,
            { cause: error },
          );
        }
        throw error;
      }
    }
  }

  /** `write` fills a new temp file, which then replaces the key's file whole; it is removed on failure. */
  async function replaceAtomically(key: string, write: (temp: string) => Promise<void>): Promise<void> {
    const temp = join(tempDir, `${randomUUID()}.part`);
    try {
      const target = pathOf(key);
      await mkdir(tempDir, { recursive: true });
      await write(temp);
      await moveIntoPlace(temp, target, key);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Yields keys under `prefix` greater than `after`, in UTF-8 byte order like S3. Sorting each
   * folder's entries with folders as `name/` gives the global key order; subtrees that cannot hold
   * a match, or lie wholly before `after`, are skipped without being read.
   */
  async function* walkKeys(dir: string, dirKey: string, prefix: string, after: string | undefined): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const named = entries
      .filter((entry) => !(dirKey === "" && entry.name === TEMP_DIR) && (entry.isFile() || entry.isDirectory()))
      .map((entry) => ({ name: entry.name, isDir: entry.isDirectory(), key: dirKey + entry.name + (entry.isDirectory() ? "/" : "") }))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const entry of named) {
      if (entry.isDir) {
        const overlaps = entry.key.startsWith(prefix) || prefix.startsWith(entry.key);
        const whollyBefore = after !== undefined && compareKeys(after, entry.key) > 0 && !after.startsWith(entry.key);
        if (overlaps && !whollyBefore) yield* walkKeys(join(dir, entry.name), entry.key, prefix, after);
      } else if (entry.key.startsWith(prefix) && (after === undefined || compareKeys(entry.key, after) > 0)) {
        yield entry.key;
      }
    }
  }

  async function removeEmptyFolders(folders: Iterable<string>): Promise<void> {
    const deepestFirst = [...folders].sort((a, b) => b.length - a.length);
    for (const start of deepestFirst) {
      for (let dir = start; dir.startsWith(base + sep); dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break; // not empty (or already gone): its parents are not empty either
        }
      }
    }
  }

  return {
    description: `fs:${base}`,

    async put(key: string, body: Buffer | Uint8Array | string | Readable, _options?: PutOptions): Promise<void> {
      try {
        await replaceAtomically(key, (temp) => writeDurably(temp, body));
      } catch (error) {
        if (body instanceof Readable) body.destroy();
        throw error;
      }
    },

    async get(key: string, range?: ByteRange): Promise<Readable> {
      if (range) assertValidRange(range);
      const { handle, size } = await openObject(key);
      if (range && range.start >= size) {
        await handle.close();
        throw rangeNotSatisfiable(key, range, size);
      }
      // The open handle keeps reading the bytes it opened even if a put renames over the file.
      return handle.createReadStream(range ? { start: range.start, ...(range.end === undefined ? {} : { end: range.end }) } : {});
    },

    async getBuffer(key: string): Promise<Buffer> {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if (isMissing(error) || errorCode(error) === "EISDIR") throw new NotFoundError(key);
        throw error;
      }
    },

    async download(key: string, path: string, options: FileOptions = {}): Promise<void> {
      const source = pathOf(key);
      if (options.readOnly && (await linkReplacing(source, path))) return;
      try {
        await copyFile(source, path, constants.COPYFILE_FICLONE);
      } catch (error) {
        // copyFile reports a missing or folder source and a bad destination with the same codes.
        if (await isMissingFile(source)) throw new NotFoundError(key);
        await rm(path, { force: true }).catch(() => {}); // a folder at `path` stays as it was
        throw error;
      }
    },

    async upload(key: string, path: string, options: PutOptions & FileOptions = {}): Promise<void> {
      await replaceAtomically(key, async (temp) => {
        if (!(options.readOnly && (await linkReplacing(path, temp)))) {
          await copyFile(path, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        }
        await syncFile(temp);
      });
    },

    async copy(fromKey: string, toKey: string): Promise<void> {
      const source = pathOf(fromKey);
      // Already a link to the same file (a repeated copy): rename() of one link over another of the
      // same file does nothing and would leave the temp link behind.
      const [from, to] = await Promise.all([stat(source).catch(() => undefined), stat(pathOf(toKey)).catch(() => undefined)]);
      if (from && to && from.ino === to.ino && from.dev === to.dev) return;
      await replaceAtomically(toKey, async (temp) => {
        // Objects are only ever replaced by rename, never changed in place: a link is a safe copy.
        if (await linkReplacing(source, temp)) return;
        try {
          await copyFile(source, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        } catch (error) {
          if (await isMissingFile(source)) throw new NotFoundError(fromKey);
          throw error;
        }
        await syncFile(temp);
      });
    },

    async head(key: string): Promise<ObjectInfo | undefined> {
      let stats: Stats;
      try {
        stats = await stat(pathOf(key));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      return stats.isFile() ? { ...infoOf(key, stats), contentType: contentTypeForKey(key) } : undefined;
    },

    async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
      assertSafePrefix(prefix);
      const limit = listLimit(options.limit);
      const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
      const objects: ObjectInfo[] = [];
      for await (const key of walkKeys(base, "", prefix, after)) {
        if (objects.length === limit) return { objects, nextCursor: encodeCursor(objects[objects.length - 1]!.key) };
        const stats = await stat(join(base, key)).catch((error: unknown) => {
          if (isMissing(error)) return undefined; // deleted while listing
          throw error;
        });
        if (stats) objects.push(infoOf(key, stats));
      }
      return { objects };
    },

    async deletePrefix(prefix: string): Promise<number> {
      assertSafePrefix(prefix);
      assertDeletablePrefix(prefix);
      const keys: string[] = [];
      for await (const key of walkKeys(base, "", prefix, undefined)) keys.push(key);
      let deleted = 0;
      const folders = new Set<string>();
      for (const key of keys) {
        const path = join(base, key);
        try {
          await unlink(path);
          deleted++;
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
        folders.add(dirname(path));
      }
      await removeEmptyFolders(folders);
      return deleted;
    },
  };
}

async function writeDurably(path: string, body: Buffer | Uint8Array | string | Readable): Promise<void> {
  const handle = await open(path, "wx");
  try {
    if (body instanceof Readable) {
      for await (const chunk of body) await handle.writeFile(chunk as Buffer | string);
    } else {
      await handle.writeFile(body);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** True when nothing, or a folder, is at `path` (what get reports as NotFoundError). */
async function isMissingFile(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => !stats.isFile(),
    (error: unknown) => isMissing(error),
  );
}

/** The cursor is the last key of the page, so a page stays right when keys are added or deleted meanwhile. */
function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey).toString("base64url");
}

function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, "base64url").toString();
}

function infoOf(key: string, stats: Stats): ObjectInfo {
  return {
    key,
    size: stats.size,
    lastModified: stats.mtime,
    etag: `"${Math.floor(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}"`,
  };
}

/** S3 orders keys by their UTF-8 bytes; JavaScript's `<` compares UTF-16 units, which differs above U+FFFF. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}
