import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { ROOT } from "../support/worker-processes.ts";

const run = promisify(execFile);
const CLIPS = 20;

/**
 * Synthetic batch filler: 1-2 s at 160x90 with a tone, each different (so each is its own
 * video). Made here rather than committed: what matters is how many, not what they show.
 */
async function makeClip(path: string, index: number): Promise<void> {
  const seconds = (1 + (index % 5) * 0.25).toFixed(2);
  await run(resolveFfmpegBinaries().ffmpeg, [
    "-v", "error", "-nostdin", "-y",
    "-f", "lavfi", "-i", `testsrc=s=160x90:r=25:d=${seconds}`,
    "-f", "lavfi", "-i", `sine=f=${220 + index * 20}:r=48000:d=${seconds}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path,
  ]);
}

describe(`vodpipe process with a batch of ${CLIPS} clips`, () => {
  let sandbox: Sandbox;
  const clips: string[] = [];
  beforeAll(async () => {
    sandbox = await createSandbox();
    for (let index = 0; index < CLIPS; index += 1) {
      const path = join(sandbox.root, `clip-${String(index + 1).padStart(2, "0")}.mp4`);
      await makeClip(path, index);
      clips.push(path);
    }
  }, 120_000);
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("runs every clip through the same queues to ready, one output folder each, and says so in the summary", async () => {
    const out = join(sandbox.root, "batch");
    const { stdout, stderr } = await run(process.execPath, ["bin/vodpipe.js", "process", ...clips, "--out", out], {
      cwd: ROOT,
      env: { ...process.env, ...sandbox.env },
      maxBuffer: 16 * 1024 * 1024,
    });
    // Not a terminal: plain progress lines, then the summary.
    expect(stderr).not.toContain("\x1b[");
    const lines = stderr.trim().split("\n");
    const summaryAt = lines.indexOf(`vodpipe: ${CLIPS} files: ${CLIPS} ready`);
    expect(summaryAt, stderr).toBeGreaterThan(0);
    const perFile = lines.slice(summaryAt + 1);
    expect(perFile).toEqual(clips.map((clip, index) => `vodpipe: ready ${clip}: ${join(out, `clip-${String(index + 1).padStart(2, "0")}`, "master.m3u8")}`));
    // Every file had its own progress line before the summary. Which stages a line shows depends
    // on when the display looked: a 1 s clip can pass through encoding between two looks.
    for (const clip of clips) {
      const name = clip.slice(sandbox.root.length + 1);
      expect(lines.slice(0, summaryAt).some((line) => line.includes(name) && /\b(queued|ingesting|splitting|encoding|publishing)\b/.test(line)), name).toBe(true);
    }
    expect(stdout.trim().split("\n")).toEqual(clips.map((_, index) => join(out, `clip-${String(index + 1).padStart(2, "0")}`, "master.m3u8")));
    for (const master of stdout.trim().split("\n")) {
      expect(existsSync(master), master).toBe(true);
      const manifest = JSON.parse(readFileSync(join(master, "..", "manifest.json"), "utf8")) as { renditions: unknown[] };
      expect(manifest.renditions.length).toBeGreaterThan(0);
    }
    expect(await sandbox.leftoverTemp()).toEqual([]);
  }, 600_000);
});
