import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkHls } from "../../shared/hls/check-hls.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { mediaFile, standIn, type StandInName } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";
import { decodedTimeline, videoStreamDescription } from "../support/decode.ts";
import { readWithIndependentParser } from "../support/independent-hls.ts";

const binaries = resolveFfmpegBinaries();

/** A committed fixture, or a stand-in generated for the run (test/fixtures/MANIFEST.md lists both). */
type Source = { file: string } | { standIn: StandInName };
const pathOf = (source: Source): Promise<string> => ("file" in source ? Promise.resolve(mediaFile(source.file)) : standIn(source.standIn));
const nameOf = (source: Source): string => ("file" in source ? source.file : `${source.standIn} (generated)`);

/**
 * Every video in test/fixtures and every video stand-in, with what its top (360p-rung) rendition
 * must look like: rotation applied, sample aspect ratio applied, odd sizes made even, never upscaled.
 */
const VIDEOS: Array<Source & { top: [number, number]; audio: boolean; sourceStream: string; hdr?: boolean }> = [
  { file: "androidx_sample.avi", top: [864, 360], audio: true, sourceStream: "v:0" },
  { file: "androidx_sample.flv", top: [540, 360], audio: true, sourceStream: "v:0" },
  { standIn: "vp8-60fps-vorbis-5.1.webm", top: [640, 360], audio: true, sourceStream: "v:0" },
  { file: "bbb_2500ms_first_30_frames.ts", top: [640, 360], audio: true, sourceStream: "v:0" },
  { file: "bear-vp9-odd-dimensions.webm", top: [160, 120], audio: false, sourceStream: "v:0" },
  { standIn: "mjpeg-422-mp2.mov", top: [480, 360], audio: true, sourceStream: "v:0" },
  { file: "dolbyVision-hdr.MOV", top: [360, 640], audio: true, sourceStream: "v:0", hdr: true },
  { file: "hdr10-av1.mp4", top: [360, 640], audio: true, sourceStream: "v:0", hdr: true },
  // The first video track is the motion; the second is a one-frame still ffmpeg would pick.
  { standIn: "two-hevc-tracks.mp4", top: [360, 480], audio: false, sourceStream: "0" },
  { file: "pixel7_videoOnly_cleaned.mp4", top: [640, 360], audio: false, sourceStream: "v:0" },
  { file: "portrait_4k60.mp4", top: [360, 640], audio: true, sourceStream: "v:0" },
  { file: "sowt-with-video.mov", top: [640, 360], audio: true, sourceStream: "v:0" },
  { standIn: "dv-ntsc-one-frame.dv", top: [480, 360], audio: false, sourceStream: "v:0" },
];

describe("every test video ends ready and conformant", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  for (const video of VIDEOS) {
    it(nameOf(video), async () => {
      const result = await runPipeline(sandbox, await pathOf(video));
      expect(result.job.reason).toBeUndefined();
      expect(result.job.status).toBe("ready");
      const out = result.outDir!;
      expect(await sandbox.leftoverTemp()).toEqual([]);

      const report = await checkHls(out, { binaries });
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);

      const view = readWithIndependentParser(join(out, "master.m3u8"));
      const top = view.variants.reduce((a, b) => (a.width * a.height >= b.width * b.height ? a : b));
      expect([top.width, top.height]).toEqual(video.top);
      expect(top.codecs).toMatch(/^avc1\.[0-9A-F]{6}(,mp4a\.40\.2)?$/);
      expect(top.codecs.includes("mp4a.40.2")).toBe(video.audio);
      expect(Boolean(view.audioUri)).toBe(video.audio);
      for (const playlist of Object.values(view.media)) {
        expect(playlist.endList).toBe(true);
        expect(playlist.playlistType).toBe("VOD");
        for (const segment of playlist.segments) expect(Math.round(segment.duration)).toBeLessThanOrEqual(playlist.targetDuration);
      }

      const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
      expect(manifest.id).toBe(result.videoId);
      for (const file of manifest.files as string[]) expect(existsSync(join(out, file)), file).toBe(true);

      // Every rendition is 8-bit 4:2:0 H.264; HDR sources are tone-mapped to SDR BT.709.
      const description = await videoStreamDescription(binaries.ffmpeg, join(out, top.uri));
      expect(description).toMatch(/^h264 .*\byuv420p\b/);
      expect(description).not.toMatch(/smpte2084|arib-std-b67|bt2020|10le/);
      // ffmpeg prints "bt709" once when matrix, primaries and transfer all are BT.709.
      if (video.hdr) expect(description).toMatch(/yuv420p\(tv, bt709[,)]/);

      // What a viewer decodes lasts as long as the source's video, within one output frame.
      const frame = 1 / top.frameRate;
      const source = await decodedTimeline(binaries.ffmpeg, await pathOf(video), video.sourceStream, frame);
      const output = await decodedTimeline(binaries.ffmpeg, join(out, top.uri), "v:0", frame);
      expect(output.frames).toBeGreaterThan(0);
      expect(Math.abs(output.duration - source.duration)).toBeLessThanOrEqual(frame + 1e-3);
    });
  }
});

const REJECTED: Array<Source & { reason: RegExp }> = [
  { file: "broken_empty.mp4", reason: /empty \(0 bytes\)/ },
  { file: "broken_html_page.mp4", reason: /HTML\/XML page, not a video/ },
  { file: "broken_hls_playlist.mp4", reason: /HLS playlist .* not a video/ },
  { standIn: "truncated-moov-missing.mp4", reason: /moov atom\) is missing/ },
  { file: "rclone_empty_moov.mp4", reason: /no audio or video tracks/ },
  { file: "bear-id3.mp3", reason: /no video track, only audio and cover art/ },
];

describe("broken files and non-videos end failed with a reason", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  for (const rejected of REJECTED) {
    it(nameOf(rejected), async () => {
      const result = await runPipeline(sandbox, await pathOf(rejected));
      expect(result.job.status).toBe("failed");
      expect(result.job.reason).toMatch(rejected.reason);
      expect(result.outDir).toBeUndefined();
      expect(await sandbox.leftoverTemp()).toEqual([]);
    });
  }
});
