import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";

/**
 * `vodpipe process --out DIR` never deletes what vodpipe did not write: DIR must be missing,
 * empty, or a previous vodpipe output (its manifest.json lists every file in it). The new tree is
 * written into a sibling temp folder and renamed into place, so DIR is never half-written.
 */
export class OutputFolderError extends Error {
  override readonly name = "OutputFolderError";
}

/** Throws OutputFolderError when `outDir` may not be (re)written. */
export async function assertOutputFolderUsable(outDir: string, dataDir: string): Promise<void> {
  const out = resolve(outDir);
  const data = resolve(dataDir);
  if (isSameOrInside(data, out) || isSameOrInside(out, data)) {
    throw new OutputFolderError(`--out ${outDir}: the output folder may not contain, or lie inside, the data folder ${data}`);
  }
  const entries = await listFiles(out);
  if (entries === undefined || entries.length === 0) return;
  if (!(await isPreviousOutput(out, entries))) {
    throw new OutputFolderError(
      `--out ${outDir}: the folder is not empty and is not a previous vodpipe output (no manifest.json listing its files); choose a new or empty folder`,
    );
  }
}

/**
 * Fills a sibling temp folder with `fill`, then puts it in `outDir`'s place (a previous output is
 * replaced only after the new one is complete). On failure nothing of the new tree is left.
 */
export async function writeOutputFolder(outDir: string, dataDir: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const out = resolve(outDir);
  await mkdir(dirname(out), { recursive: true });
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.vodpipe-new-`));
  try {
    await fill(staging);
    // Checked again: the folder may have changed while the video was processed.
    await assertOutputFolderUsable(out, dataDir);
    const existing = await listFiles(out);
    if (existing === undefined) {
      await rename(staging, out);
      return;
    }
    if (existing.length === 0) {
      await rmdir(out);
      await rename(staging, out);
      return;
    }
    const previous = await mkdtemp(join(dirname(out), `.${basename(out)}.vodpipe-old-`));
    await rename(out, join(previous, "tree"));
    await rename(staging, out);
    await rm(previous, { recursive: true, force: true });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function isSameOrInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

/** Every file below `dir` (relative, `/`-separated); undefined if `dir` does not exist. */
async function listFiles(dir: string): Promise<string[] | undefined> {
  let stat;
  try {
    stat = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (!stat.isDirectory()) throw new OutputFolderError(`--out ${dir}: exists and is not a folder`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = relative(dir, join(entry.parentPath ?? (entry as { path?: string }).path ?? dir, entry.name)).split(sep).join("/");
    if (entry.isDirectory()) continue;
    // A link or device in the folder is not something vodpipe writes.
    files.push(entry.isFile() ? path : `\0${path}`);
  }
  return files;
}

async function isPreviousOutput(dir: string, files: readonly string[]): Promise<boolean> {
  let manifest: { master?: unknown; files?: unknown };
  try {
    manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as typeof manifest;
  } catch {
    return false;
  }
  if (manifest.master !== "master.m3u8" || !Array.isArray(manifest.files)) return false;
  const ours = new Set(manifest.files.filter((file): file is string => typeof file === "string"));
  return files.every((file) => ours.has(file));
}
