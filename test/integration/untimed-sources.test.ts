import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { checkHls } from "../../shared/hls/check-hls.ts";
import { splitArgs } from "../../shared/media/encode-args.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { decodedTimeline } from "../support/decode.ts";
import { readWithIndependentParser } from "../support/independent-hls.ts";
import { standIn, type StandInName } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";

const binaries = resolveFfmpegBinaries();

/**
 * Sources whose packets carry no presentation timestamps, as real players meet them: each must
 * come out ready, conformant and as long as what ffmpeg decodes from it. `chunks` is the plan
 * for 9 s at 4 s chunks; a stream with no timestamps at all is read whole, as one chunk.
 */
const SOURCES: Array<{ file: StandInName; audio: boolean; chunks: number; frameRate: number; copies: boolean }> = [
  { file: "mpeg4-bframes.avi", audio: true, chunks: 2, frameRate: 25, copies: true },
  { file: "dvd.vob", audio: true, chunks: 2, frameRate: 25, copies: true },
  { file: "svcd.mpg", audio: true, chunks: 2, frameRate: 25, copies: true },
  { file: "raw.m4v", audio: false, chunks: 2, frameRate: 25, copies: true },
  { file: "raw.m2v", audio: false, chunks: 2, frameRate: 25, copies: true },
  { file: "raw.h264", audio: false, chunks: 1, frameRate: 30000 / 1001, copies: false },
];

describe("sources without timestamps end ready", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  for (const source of SOURCES) {
    it(source.file, async () => {
      const input = await standIn(source.file);
      const result = await runPipeline(sandbox, input);
      expect(result.job.reason).toBeUndefined();
      expect(result.job.status).toBe("ready");
      expect(result.job.plan?.chunks.chunks.length).toBe(source.chunks);
      expect(result.job.source?.video.frameRate && result.job.source.video.frameRate.num / result.job.source.video.frameRate.den).toBeCloseTo(source.frameRate, 6);
      expect(await sandbox.leftoverTemp()).toEqual([]);

      const report = await checkHls(result.outDir!, { binaries });
      expect(report.failures).toEqual([]);

      const view = readWithIndependentParser(join(result.outDir!, "master.m3u8"));
      expect(Boolean(view.audioUri)).toBe(source.audio);
      const top = view.variants.reduce((a, b) => (a.width * a.height >= b.width * b.height ? a : b));
      expect([top.width, top.height]).toEqual([320, 240]);
      const frame = 1 / top.frameRate;
      const decoded = await decodedTimeline(binaries.ffmpeg, input, "v:0", frame);
      const output = await decodedTimeline(binaries.ffmpeg, join(result.outDir!, top.uri), "v:0", frame);
      expect(decoded.duration).toBeCloseTo(9, 1);
      expect(Math.abs(output.duration - decoded.duration)).toBeLessThanOrEqual(frame + 1e-3);
    });
  }

  // The cheap path is kept where it can work: timestamps regenerated, not a re-encode.
  it("cuts every source that has decode timestamps by stream copy", async () => {
    for (const source of SOURCES) {
      const output = join(sandbox.root, `copy-${source.file}.mkv`);
      const cut = runProcess(binaries.ffmpeg, splitArgs({ input: await standIn(source.file), output, streamIndex: 0, keyframeTime: source.copies ? 4 : undefined, durationSeconds: 3 }));
      if (source.copies) await expect(cut, source.file).resolves.toBeDefined();
      else await expect(cut, source.file).rejects.toThrow(/unknown timestamp/);
    }
  });
});
