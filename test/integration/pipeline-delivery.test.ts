import { probeContainer } from "../../shared/media/probe.ts";
import { ProcessCrashedError } from "../../shared/media/run-process.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Queue } from "../../shared/ports.ts";
import { checkHls } from "../../shared/hls/check-hls.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";

/** Every message a service sends arrives twice: at-least-once delivery at its worst. */
function deliverTwice(queue: Queue): Queue {
  return {
    ...queue,
    name: queue.name,
    send: async (body, options) => {
      await queue.send(body, options);
      return queue.send(body, options);
    },
    sendBatch: async (bodies) => {
      await queue.sendBatch(bodies);
      return queue.sendBatch(bodies);
    },
    receive: (options) => queue.receive(options),
    delete: (handle) => queue.delete(handle),
    changeVisibility: (handle, seconds) => queue.changeVisibility(handle, seconds),
    depth: () => queue.depth(),
  };
}

function playlists(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".m3u8")) found[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return found;
}

describe("at-least-once delivery", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("every message delivered twice gives the same playlists as a clean run", async () => {
    const clean = await runPipeline(sandbox, mediaFile("androidx_sample.avi"));
    const doubled = await runPipeline(sandbox, mediaFile("androidx_sample.avi"), { decorateQueue: deliverTwice });
    expect(clean.job.status).toBe("ready");
    expect(doubled.job.status).toBe("ready");
    const cleanPlaylists = playlists(clean.outDir!);
    expect(Object.keys(cleanPlaylists).sort()).toEqual([
      "240p/iframes.m3u8", "240p/index.m3u8", "360p/iframes.m3u8", "360p/index.m3u8", "audio/index.m3u8", "master.m3u8",
    ]);
    expect(playlists(doubled.outDir!)).toEqual(cleanPlaylists);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  });
});

describe("the zero-setup path", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("a real clip goes through the whole pipeline on the npm-bundled ffmpeg and ffprobe", async () => {
    const bundled = resolveFfmpegBinaries({ forceBundled: true });
    expect(bundled.source).toEqual({ ffmpeg: "bundled", ffprobe: "bundled" });
    const result = await runPipeline(sandbox, mediaFile("sowt-with-video.mov"), { forceBundledFfmpeg: true });
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");
    const report = await checkHls(result.outDir!, { binaries: bundled });
    expect(report.failures).toEqual([]);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  });

  it("an MPEG-TS upload, which the bundled ffprobe crashes on, is probed through a Matroska copy and ends ready", async () => {
    const bundled = resolveFfmpegBinaries({ forceBundled: true });
    // The fact this test is about: the bundled build crashes on the file itself.
    await expect(probeContainer(bundled.ffprobe, mediaFile("bbb_2500ms_first_30_frames.ts"))).rejects.toBeInstanceOf(ProcessCrashedError);
    const result = await runPipeline(sandbox, mediaFile("bbb_2500ms_first_30_frames.ts"), { forceBundledFfmpeg: true });
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");
    const report = await checkHls(result.outDir!, { binaries: bundled });
    expect(report.failures).toEqual([]);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  });
});
