import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OutputFolderError, assertOutputFolderUsable, writeOutputFolder } from "../../app/cli/output-folder.ts";

let root: string;
let dataDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vodpipe-outdir-"));
  dataDir = join(root, "data");
  await mkdir(join(dataDir, "objects"), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A tree as publish writes it: manifest.json lists every file. */
async function writeOurs(dir: string, marker: string): Promise<void> {
  await mkdir(join(dir, "360p"), { recursive: true });
  await writeFile(join(dir, "master.m3u8"), marker);
  await writeFile(join(dir, "360p", "seg-00000.ts"), marker);
  const files = ["manifest.json", "master.m3u8", "360p/seg-00000.ts"];
  await writeFile(join(dir, "manifest.json"), JSON.stringify({ id: marker, master: "master.m3u8", files }));
}

describe("--out folder safety", () => {
  it("refuses the data folder, a folder holding it, and a folder inside it", async () => {
    for (const out of [root, dataDir, join(dataDir, "objects", "x")]) {
      await expect(assertOutputFolderUsable(out, dataDir), out).rejects.toBeInstanceOf(OutputFolderError);
    }
    await expect(writeOutputFolder(root, dataDir, (dir) => writeOurs(dir, "new"))).rejects.toBeInstanceOf(OutputFolderError);
    expect((await readdir(root)).sort()).toEqual(["data"]);
    expect(await readdir(join(dataDir, "objects"))).toEqual([]);
  });

  it("refuses a non-empty folder that is not a vodpipe output, and leaves it as it was", async () => {
    const out = join(root, "mine");
    await mkdir(out);
    await writeFile(join(out, "holiday.mov"), "precious");
    await expect(assertOutputFolderUsable(out, dataDir)).rejects.toThrow(/not empty and is not a previous vodpipe output/);
    await expect(writeOutputFolder(out, dataDir, (dir) => writeOurs(dir, "new"))).rejects.toBeInstanceOf(OutputFolderError);
    expect(await readFile(join(out, "holiday.mov"), "utf8")).toBe("precious");
    expect((await readdir(root)).sort()).toEqual(["data", "mine"]);
  });

  it("refuses a previous output that also holds a file vodpipe did not write", async () => {
    const out = join(root, "prev");
    await writeOurs(out, "old");
    await writeFile(join(out, "notes.txt"), "mine");
    await expect(assertOutputFolderUsable(out, dataDir)).rejects.toBeInstanceOf(OutputFolderError);
  });

  it("writes a new folder, fills an empty one, and replaces a previous output whole", async () => {
    const fresh = join(root, "a", "b");
    await writeOutputFolder(fresh, dataDir, (dir) => writeOurs(dir, "one"));
    expect(await readFile(join(fresh, "master.m3u8"), "utf8")).toBe("one");

    const empty = join(root, "empty");
    await mkdir(empty);
    await writeOutputFolder(empty, dataDir, (dir) => writeOurs(dir, "two"));
    expect(await readFile(join(empty, "master.m3u8"), "utf8")).toBe("two");

    await writeOutputFolder(fresh, dataDir, (dir) => writeFile(join(dir, "master.m3u8"), "three").then(() => writeFile(join(dir, "manifest.json"), "{}")));
    expect((await readdir(fresh)).sort()).toEqual(["manifest.json", "master.m3u8"]);
    expect(await readFile(join(fresh, "master.m3u8"), "utf8")).toBe("three");
    // No staging or old folders beside it.
    expect((await readdir(join(root, "a")))).toEqual(["b"]);
  });

  it("leaves the previous output and no staging folder when writing the new tree fails", async () => {
    const out = join(root, "prev");
    await writeOurs(out, "old");
    await expect(writeOutputFolder(out, dataDir, async () => Promise.reject(new Error("disk full")))).rejects.toThrow("disk full");
    expect(await readFile(join(out, "master.m3u8"), "utf8")).toBe("old");
    expect((await readdir(root)).sort()).toEqual(["data", "prev"]);
  });
});
