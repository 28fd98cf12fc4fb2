import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { lstat, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";

const run = promisify(execFile);

/** Real disk use under `dir`: each file once, however many hard links the stores and stages made. */
async function diskUse(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (folder: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return; // removed while we looked
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
        continue;
      }
      const info = await lstat(path).catch(() => undefined);
      if (!info || seen.has(`${info.dev}:${info.ino}`)) continue;
      seen.add(`${info.dev}:${info.ino}`);
      total += info.size;
    }
  };
  await walk(dir);
  return total;
}

const MINUTES = 10;
const CHUNK_SECONDS = 60;
const TRANSCODE_CONCURRENCY = 2;

describe("temp disk stays bounded on a long video", () => {
  let sandbox: Sandbox;
  let source: string;
  beforeAll(async () => {
    sandbox = await createSandbox({
      VODPIPE_SEGMENT_SECONDS: "6",
      VODPIPE_CHUNK_SECONDS: String(CHUNK_SECONDS),
      VODPIPE_TRANSCODE_CONCURRENCY: String(TRANSCODE_CONCURRENCY),
      VODPIPE_X264_PRESET: "ultrafast",
      VODPIPE_LADDER: "144p",
    });
    // Ten minutes at 160x90 with a heavy bitrate: big enough that keeping every chunk, or every
    // segment, would show against the bound; cheap enough to encode in seconds.
    source = join(sandbox.root, "long.mp4");
    await run(resolveFfmpegBinaries().ffmpeg, [
      "-v", "error", "-nostdin", "-y",
      "-f", "lavfi", "-i", `testsrc2=s=160x90:r=25:d=${MINUTES * 60}`,
      "-f", "lavfi", "-i", `sine=f=440:r=48000:d=${MINUTES * 60}`,
      "-c:v", "libx264", "-preset", "ultrafast", "-qp", "4", "-g", "50", "-c:a", "aac", "-b:a", "64k", source,
    ]);
  }, 120_000);
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("the temp folder's peak stays under the bound docs/operations.md states", async () => {
    const sourceBytes = (await stat(source)).size;
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await diskUse(sandbox.tmpDir));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    let result;
    try {
      result = await runPipeline(sandbox, source);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");

    // docs/operations.md: the source once (stages that read it share the file), each chunk being
    // cut or transcoded with its output, the audio's output, a few MB of thumbnails and publish's
    // two segments. A chunk holds CHUNK_SECONDS plus a second of tail and up to a GOP (2 s) of lead.
    const duration = MINUTES * 60;
    const chunkBytes = (sourceBytes * (CHUNK_SECONDS + 3)) / duration;
    const bound = sourceBytes + 2 * TRANSCODE_CONCURRENCY * chunkBytes + 16 * 1024 * 1024;
    console.log(`bounded disk: source ${(sourceBytes / 1e6).toFixed(1)} MB, peak temp ${(peak / 1e6).toFixed(1)} MB, bound ${(bound / 1e6).toFixed(1)} MB`);
    expect(peak).toBeGreaterThan(sourceBytes * 0.5); // the sampler saw the work
    expect(peak).toBeLessThan(bound);
    // Every chunk kept until split ends would be the source twice over.
    expect(peak).toBeLessThan(sourceBytes * 2);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  }, 600_000);
});
