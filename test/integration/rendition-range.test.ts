import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { transcodeChunkArgs, type VideoFilterOptions } from "../../shared/media/encode-args.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { mediaFile } from "../support/media.ts";

const run = promisify(execFile);
const FFMPEG = resolveFfmpegBinaries().ffmpeg;
const FRAMES = 3;

/** The filter graph transcode builds for one rendition: what its x264 encoder is given. */
function renditionGraph(width: number, height: number, filters: VideoFilterOptions): string {
  const args = transcodeChunkArgs({
    input: "unused", seekSeconds: 0, frameCount: FRAMES, startTime: 0, firstSegment: 0, keyframeOffsets: [0],
    filters, preset: "veryfast", threads: 1,
    outputs: [{
      rendition: { name: "r", width, height, videoKbps: 1000, maxrateKbps: 1100, bufsizeKbps: 2000, profile: "main" },
      playlistPath: "unused.m3u8",
      segmentPattern: "unused-%05d.ts",
    }],
  });
  return args[args.indexOf("-filter_complex") + 1]!;
}

/** ffmpeg's per-frame hashes of the first frames, from `graph`'s [v0] or, without one, the decoder. */
async function frameHashes(input: string, graph?: string): Promise<string[]> {
  const mapping = graph ? ["-filter_complex", graph, "-map", "[v0]"] : ["-map", "0:v:0"];
  const { stdout } = await run(FFMPEG, ["-v", "error", "-nostdin", "-i", input, ...mapping, "-frames:v", String(FRAMES), "-f", "framemd5", "-"]);
  return stdout.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => line.split(",").pop()!.trim());
}

/** The darkest luma value over the first frames the graph gives the encoder. */
async function lowestLuma(input: string, graph: string): Promise<number> {
  // metadata=print logs each frame's values at info level, on stderr.
  const { stderr } = await run(FFMPEG, [
    "-v", "info", "-nostats", "-nostdin", "-i", input,
    "-filter_complex", `${graph};[v0]signalstats,metadata=mode=print[measured]`,
    "-map", "[measured]", "-frames:v", String(FRAMES), "-f", "null", "-",
  ]);
  const values = [...stderr.matchAll(/lavfi\.signalstats\.YMIN=(\d+)/g)].map((match) => Number(match[1]));
  expect(values.length).toBeGreaterThanOrEqual(FRAMES); // the graph may run a frame ahead of the output
  return Math.min(...values);
}

describe("the colour range the renditions are encoded from", () => {
  it("passes a limited-range source's frames through unchanged at the source's own size", async () => {
    const input = mediaFile("sowt-with-video.mov"); // 1920x1080 yuv420p, tv range, 50 fps, progressive
    const graph = renditionGraph(1920, 1080, { frameRate: { num: 50, den: 1 }, toneMap: null, fullRange: false });
    expect(graph).toContain("in_range=tv:out_range=tv");
    const [decoded, rendered] = await Promise.all([frameHashes(input), frameHashes(input, graph)]);
    expect(rendered).toHaveLength(FRAMES);
    expect(rendered).toEqual(decoded);
  });

  it("converts a full-range phone video to limited range: black becomes 16, not 0", async () => {
    const input = mediaFile("pixel7_videoOnly_cleaned.mp4"); // yuvj420p, pc range, nearly black
    const converted = renditionGraph(640, 360, { frameRate: { num: 30, den: 1 }, toneMap: null, fullRange: true });
    expect(await lowestLuma(input, converted)).toBeGreaterThanOrEqual(16);
    // The same frames read as if they were limited range keep their 0-based blacks: what the flag prevents.
    const misread = renditionGraph(640, 360, { frameRate: { num: 30, den: 1 }, toneMap: null, fullRange: false });
    expect(await lowestLuma(input, misread)).toBeLessThan(16);
  });
});
