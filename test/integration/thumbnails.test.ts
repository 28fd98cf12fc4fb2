import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../shared/logger.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { renderThumbnails } from "../../services/thumbnails/render-thumbnails.ts";
import type { ThumbnailResult } from "../../shared/media/thumbnail-result.ts";
import { mediaFile, standIn } from "../support/media.ts";

const ffmpeg = resolveFfmpegBinaries().ffmpeg;
let root: string;
let blackVideo: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "vodpipe-thumbnails-test-"));
  blackVideo = join(root, "black.mp4");
  await runProcess(ffmpeg, [
    "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=black:s=320x240:d=2",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", blackVideo,
  ]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  title: string;
  file: () => string | Promise<string>;
  durationSeconds: number;
  videoStreamIndex: number;
  displayWidth: number;
  displayHeight: number;
  toneMap?: "hlg";
  /** name → [width, height] */
  posters: Record<string, [number, number]>;
  tile: [number, number];
  interval: number;
  tileCount: number;
  columns: number;
  rows: number;
  sheets: [number, number][];
  candidateCount: number;
}

// Display sizes and durations are MANIFEST.md's (rotation and sample aspect ratio applied).
const CASES: Case[] = [
  {
    title: "near-black Pixel 7 clip, rot=180",
    file: () => mediaFile("pixel7_videoOnly_cleaned.mp4"),
    durationSeconds: 1.205, videoStreamIndex: 0, displayWidth: 1920, displayHeight: 1080,
    posters: { poster: [1920, 1080], "poster-640": [640, 360], "poster-320": [320, 180] },
    tile: [160, 90], interval: 1, tileCount: 1, columns: 1, rows: 1, sheets: [[160, 90]], candidateCount: 6,
  },
  {
    title: "4K60 rotated -90 to portrait",
    file: () => mediaFile("portrait_4k60.mp4"),
    durationSeconds: 0.3, videoStreamIndex: 0, displayWidth: 2160, displayHeight: 3840,
    posters: { poster: [1080, 1920], "poster-640": [640, 1138], "poster-320": [320, 569] },
    tile: [90, 160], interval: 1, tileCount: 1, columns: 1, rows: 1, sheets: [[90, 160]], candidateCount: 6,
  },
  {
    title: "VP9 with odd dimensions 161x121",
    file: () => mediaFile("bear-vp9-odd-dimensions.webm"),
    durationSeconds: 1.001, videoStreamIndex: 0, displayWidth: 161, displayHeight: 121,
    posters: { poster: [161, 121] },
    tile: [160, 120], interval: 1, tileCount: 1, columns: 1, rows: 1, sheets: [[160, 120]], candidateCount: 6,
  },
  {
    title: "one interlaced DV frame with SAR 8:9",
    file: () => standIn("dv-ntsc-one-frame.dv"),
    durationSeconds: 0.033, videoStreamIndex: 0, displayWidth: 640, displayHeight: 480,
    posters: { poster: [640, 480], "poster-640": [640, 480], "poster-320": [320, 240] },
    // 0.003 s has no frame at or after it: the first frame stands in, at time 0.
    tile: [160, 120], interval: 1, tileCount: 1, columns: 1, rows: 1, sheets: [[160, 120]], candidateCount: 1,
  },
  {
    title: "14 s MJPEG 4:2:2 clip",
    file: () => standIn("mjpeg-422-mp2.mov"),
    durationSeconds: 14, videoStreamIndex: 0, displayWidth: 640, displayHeight: 480,
    posters: { poster: [640, 480], "poster-640": [640, 480], "poster-320": [320, 240] },
    tile: [160, 120], interval: 1, tileCount: 14, columns: 10, rows: 2, sheets: [[1600, 240]], candidateCount: 6,
  },
  {
    title: "HEVC 10-bit HLG, rot=-90, tone-mapped",
    file: () => mediaFile("dolbyVision-hdr.MOV"),
    durationSeconds: 0.107, videoStreamIndex: 0, displayWidth: 720, displayHeight: 1280, toneMap: "hlg",
    posters: { poster: [720, 1280], "poster-640": [640, 1138], "poster-320": [320, 569] },
    tile: [90, 160], interval: 1, tileCount: 1, columns: 1, rows: 1, sheets: [[90, 160]], candidateCount: 2,
  },
  {
    title: "fully black video",
    file: () => blackVideo,
    durationSeconds: 2, videoStreamIndex: 0, displayWidth: 320, displayHeight: 240,
    posters: { poster: [320, 240], "poster-320": [320, 240] },
    tile: [160, 120], interval: 1, tileCount: 2, columns: 2, rows: 1, sheets: [[320, 120]], candidateCount: 6,
  },
];

interface Cue {
  start: number;
  end: number;
  sheet: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function parseTimestamp(text: string): number {
  const match = /^(\d{2,}):(\d{2}):(\d{2})\.(\d{3})$/.exec(text);
  if (!match) throw new Error(`bad VTT timestamp ${text}`);
  const [, h, m, s, ms] = match.map(Number) as [number, number, number, number, number];
  return h * 3600 + m * 60 + s + ms / 1000;
}

/** A small WebVTT reader: header, blank-line separated cues of "start --> end" and one payload line. */
function parseVtt(text: string): Cue[] {
  const blocks = text.split(/\r?\n\r?\n/).map((block) => block.trim()).filter(Boolean);
  if (blocks.shift() !== "WEBVTT") throw new Error("missing WEBVTT header");
  return blocks.map((block) => {
    const [timing = "", payload = "", ...rest] = block.split(/\r?\n/);
    if (rest.length > 0) throw new Error(`unexpected cue lines: ${block}`);
    const [start = "", end = ""] = timing.split(" --> ");
    const uri = /^([^#\s/]+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload);
    if (!uri) throw new Error(`bad cue payload ${payload}`);
    const [, sheet = "", x, y, w, h] = uri;
    return { start: parseTimestamp(start), end: parseTimestamp(end), sheet, x: Number(x), y: Number(y), w: Number(w), h: Number(h) };
  });
}

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = createHash("sha256").update(await readFile(join(dir, name))).digest("hex");
  return out;
}

async function render(test: Case, outDir: string, scratch: string): Promise<ThumbnailResult> {
  return renderThumbnails({
    inputPath: await test.file(),
    outDir,
    durationSeconds: test.durationSeconds,
    videoStreamIndex: test.videoStreamIndex,
    displayWidth: test.displayWidth,
    displayHeight: test.displayHeight,
    toneMap: test.toneMap ?? null,
    ffmpegPath: ffmpeg,
    logger: silentLogger(),
    tmpDir: scratch,
  });
}

/** A frame rendered by the test itself with plain ffmpeg, as raw RGB at the given size. */
async function referenceFrame(input: string, time: number, filters: string, width: number, height: number, extra: string[] = []): Promise<Buffer> {
  const { stdout } = await runProcess(ffmpeg, [
    "-v", "error", "-nostdin", ...extra, "-i", input, "-map", "0:0", "-ss", String(time),
    "-vf", `${filters}${filters ? "," : ""}scale=${width}:${height}:flags=lanczos,setsar=1,format=rgb24`,
    "-frames:v", "1", "-f", "rawvideo", "-",
  ]);
  expect(stdout.length).toBe(width * height * 3);
  return stdout;
}

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe("renderThumbnails on real media", () => {
  const results = new Map<string, { result: ThumbnailResult; outDir: string }>();

  it.each(CASES)("$title", async (test) => {
    const outDir = join(root, test.title.replace(/\W+/g, "-"), "out");
    const scratch = join(root, test.title.replace(/\W+/g, "-"), "scratch");
    await mkdir(scratch, { recursive: true });
    const result = await render(test, outDir, scratch);
    results.set(test.title, { result, outDir });

    // Poster files: every size in JPEG and WebP, decoded by sharp at the promised format and size.
    const expectedPosters = Object.entries(test.posters).flatMap(([name, [width, height]]) => [
      { path: `${name}.jpg`, width, height, format: "jpeg" },
      { path: `${name}.webp`, width, height, format: "webp" },
    ]);
    expect(result.poster.files).toEqual(expectedPosters);
    for (const file of result.poster.files) {
      const meta = await sharp(join(outDir, file.path)).metadata();
      expect({ path: file.path, format: meta.format, width: meta.width, height: meta.height }).toEqual({
        path: file.path, format: file.format, width: file.width, height: file.height,
      });
      // Display aspect kept to rounding, whatever the coded size, rotation or SAR.
      expect(Math.abs((file.width * test.displayHeight) / test.displayWidth - file.height)).toBeLessThanOrEqual(1);
      expect(meta.exif).toBeUndefined();
    }
    expect(result.poster.files[0]!.width).toBeLessThanOrEqual(1920);
    expect(result.poster.files[0]!.height).toBeLessThanOrEqual(1920);

    // The poster is the best-scoring candidate.
    expect(result.poster.candidates).toHaveLength(test.candidateCount);
    const maxEntropy = Math.max(...result.poster.candidates.map((c) => c.entropy));
    expect(result.poster.entropy).toBe(maxEntropy);
    expect(result.poster.candidates.find((c) => c.time === result.poster.time)?.entropy).toBe(maxEntropy);

    // Storyboard geometry.
    const board = result.storyboard;
    expect({ ...board, sheets: board.sheets.map((s) => [s.width, s.height]) }).toEqual({
      vtt: "storyboard.vtt",
      sheets: test.sheets,
      tileWidth: test.tile[0],
      tileHeight: test.tile[1],
      columns: test.columns,
      rows: test.rows,
      interval: test.interval,
      tileCount: test.tileCount,
    });
    const sheetSizes = new Map<string, { width: number; height: number }>();
    for (const sheet of board.sheets) {
      const meta = await sharp(join(outDir, sheet.path)).metadata();
      expect([sheet.path, meta.format, meta.width, meta.height]).toEqual([sheet.path, "jpeg", sheet.width, sheet.height]);
      expect(sheet.width).toBe(board.columns * board.tileWidth);
      expect(sheet.height % board.tileHeight).toBe(0);
      sheetSizes.set(sheet.path, { width: sheet.width, height: sheet.height });
    }

    // The VTT: contiguous cues from 0 to the duration, each on its own tile inside its sheet.
    const cues = parseVtt(await readFile(join(outDir, board.vtt), "utf8"));
    expect(cues).toHaveLength(test.tileCount);
    expect(cues[0]!.start).toBe(0);
    expect(cues[cues.length - 1]!.end).toBeCloseTo(test.durationSeconds, 6);
    const seen = new Set<string>();
    cues.forEach((cue, i) => {
      expect(cue.end).toBeGreaterThan(cue.start);
      if (i > 0) expect(cue.start).toBe(cues[i - 1]!.end);
      const sheet = sheetSizes.get(cue.sheet);
      expect(sheet, `cue ${i} names ${cue.sheet}`).toBeDefined();
      expect([cue.w, cue.h]).toEqual(test.tile);
      expect(cue.x % cue.w).toBe(0);
      expect(cue.y % cue.h).toBe(0);
      expect(cue.x + cue.w).toBeLessThanOrEqual(sheet!.width);
      expect(cue.y + cue.h).toBeLessThanOrEqual(sheet!.height);
      seen.add(`${cue.sheet}#${cue.x},${cue.y}`);
    });
    expect(seen.size).toBe(test.tileCount);

    // Only the promised files, the scratch folder left empty.
    const names = [...result.poster.files.map((f) => f.path), ...board.sheets.map((s) => s.path), board.vtt].sort();
    expect((await readdir(outDir)).sort()).toEqual(names);
    expect(await readdir(scratch)).toEqual([]);

    // Idempotent: a second run gives the same bytes.
    const first = await hashes(outDir);
    const again = await render(test, outDir, scratch);
    expect(again).toEqual(result);
    expect(await hashes(outDir)).toEqual(first);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("picks the Pixel 7 frame whose entropy, measured independently, is the highest", async () => {
    const { result } = results.get(CASES[0]!.title)!;
    const input = await CASES[0]!.file();
    const measured: { time: number; entropy: number }[] = [];
    for (const candidate of result.poster.candidates) {
      const frame = await referenceFrame(input, candidate.time, "", 1920, 1080);
      const { entropy } = await sharp(frame, { raw: { width: 1920, height: 1080, channels: 3 } }).stats();
      measured.push({ time: candidate.time, entropy });
    }
    expect(measured.map((m) => m.entropy)).toEqual(result.poster.candidates.map((c) => c.entropy));
    const best = measured.reduce((a, b) => (b.entropy > a.entropy ? b : a));
    expect(result.poster.time).toBe(best.time);
    // Near-black, yet still a distinct choice: candidates differ.
    expect(new Set(measured.map((m) => m.entropy)).size).toBeGreaterThan(1);
  });

  it("turns the -90 rotated 4K picture upright rather than squashing it", async () => {
    const { result, outDir } = results.get(CASES[1]!.title)!;
    const input = await CASES[1]!.file();
    const poster = await sharp(join(outDir, "poster-320.webp")).raw().toBuffer();
    const upright = await referenceFrame(input, result.poster.time, "transpose=clock", 320, 569, ["-noautorotate"]);
    const squashed = await referenceFrame(input, result.poster.time, "", 320, 569, ["-noautorotate"]);
    const turnedTheWrongWay = await referenceFrame(input, result.poster.time, "transpose=cclock", 320, 569, ["-noautorotate"]);
    const toUpright = meanAbsoluteDifference(poster, upright);
    expect(toUpright).toBeLessThan(6);
    expect(meanAbsoluteDifference(poster, squashed)).toBeGreaterThan(toUpright * 3);
    expect(meanAbsoluteDifference(poster, turnedTheWrongWay)).toBeGreaterThan(toUpright * 3);
  });

  it("shows different moments along the MJPEG clip's storyboard", async () => {
    const { outDir } = results.get(CASES[4]!.title)!;
    const tile = async (left: number, top: number) =>
      sharp(join(outDir, "storyboard-0.jpg")).extract({ left, top, width: 160, height: 120 }).raw().toBuffer();
    // Tiles 0 (0-1 s) and 13 (13-14 s): the clip darkens steadily, so the first and last tiles are far apart.
    expect(meanAbsoluteDifference(await tile(0, 0), await tile(480, 120))).toBeGreaterThan(20);
  });

  it("stops when aborted and leaves no scratch files", async () => {
    const scratch = join(root, "aborted", "scratch");
    const outDir = join(root, "aborted", "out");
    await mkdir(scratch, { recursive: true });
    const controller = new AbortController();
    controller.abort();
    await expect(
      renderThumbnails({
        inputPath: await standIn("mjpeg-422-mp2.mov"), outDir, durationSeconds: 14, videoStreamIndex: 0,
        displayWidth: 640, displayHeight: 480, ffmpegPath: ffmpeg, logger: silentLogger(), tmpDir: scratch, signal: controller.signal,
      }),
    ).rejects.toThrow(/aborted/);
    expect(await readdir(scratch)).toEqual([]);
    expect(await readdir(outDir)).toEqual([]);
  });

  it("still gives the black video a black poster and black tiles", async () => {
    const { result, outDir } = results.get(CASES[6]!.title)!;
    expect(result.poster.entropy).toBe(0);
    expect(result.poster.time).toBe(0.2);
    for (const path of ["poster.jpg", "storyboard-0.jpg"]) {
      const stats = await sharp(join(outDir, path)).stats();
      expect(stats.channels).toHaveLength(3);
      for (const channel of stats.channels) expect(channel.max).toBeLessThanOrEqual(8);
    }
  });
});
