import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../shared/logger.ts";
import { seconds } from "../../shared/media/encode-args.ts";
import { safeInputOptions } from "../../shared/media/probe.ts";
import { runProcess, type RunOptions } from "../../shared/media/run-process.ts";
import { TONE_MAP_TO_SDR } from "../../shared/media/encode-args.ts";

/**
 * Every frame the image work needs, from ONE ffmpeg run that decodes the video once: the poster
 * candidates, a first-frame fallback and the storyboard tiles. ffmpeg picks, rotates (its default
 * autorotation), deinterlaces and scales them to exact display-aspect sizes and writes 8-bit RGB
 * (`rgb24`) raw frames, so 10-bit or HDR sources reach sharp as plain 8-bit pixels and no
 * container or encoder metadata is involved.
 */
export interface FrameSource {
  ffmpegPath: string;
  inputPath: string;
  /** Absolute stream index of the chosen video track. */
  videoStreamIndex: number;
  /** Tone-map HDR to SDR (as the transcoder does); without it 10-bit is only converted to 8-bit. */
  toneMap?: "pq" | "hlg" | null;
  threads?: number;
  /**
   * Decode keyframes only: much cheaper on long, high-resolution sources, and close enough when
   * keyframes come at least as often as storyboard tiles.
   */
  keyframesOnly?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
  /** Kill the extraction after this long (runProcess's deadline). */
  deadline?: Pick<RunOptions, "deadlineSeconds" | "killGraceSeconds">;
}

export interface FrameSize {
  width: number;
  height: number;
}

export interface FrameRequest {
  /** Seconds from the first video frame; each gives the first frame at or after it. */
  candidateTimes: readonly number[];
  posterSize: FrameSize;
  /** Tile k is the frame on screen at (k + 0.5) * interval, from the start of the video. */
  interval: number;
  tileCount: number;
  tileSize: FrameSize;
}

export interface ExtractedFrames {
  /** One per candidate time, null when the video ends before it. */
  candidates: (Buffer | null)[];
  /** The first frame at poster size, for when every candidate is null. */
  firstFrame: Buffer | null;
  /** At most tileCount; fewer when the video ends early. */
  tiles: Buffer[];
}

const RGB_CHANNELS = 3;

export function rawFrameBytes(size: FrameSize): number {
  return size.width * size.height * RGB_CHANNELS;
}

/** After a frame is chosen: tone map, exact size with square pixels, 8-bit RGB. */
export function pictureFilters(size: FrameSize, toneMap: FrameSource["toneMap"]): string[] {
  const filters: string[] = toneMap ? [...TONE_MAP_TO_SDR] : [];
  filters.push(`scale=${size.width}:${size.height}:flags=lanczos`, "setsar=1", "format=rgb24");
  return filters;
}

/** Selects exactly one frame: the first whose time reaches `time` (the first frame if time <= 0). */
export function firstFrameAtOrAfter(time: number): string {
  const at = seconds(time);
  return `select='(isnan(prev_t)+lt(prev_t,${at}))*gte(t,${at})'`;
}

export interface ExtractionFiles {
  candidates: string[];
  firstFrame: string;
  tiles: string;
}

export function extractionFiles(workDir: string, candidateCount: number): ExtractionFiles {
  return {
    candidates: Array.from({ length: candidateCount }, (_, i) => join(workDir, `candidate-${i}.rgb`)),
    firstFrame: join(workDir, "first.rgb"),
    tiles: join(workDir, "tiles.rgb"),
  };
}

export function extractionArgs(source: FrameSource, request: FrameRequest, files: ExtractionFiles): string[] {
  const count = request.candidateTimes.length;
  const branches = [...request.candidateTimes.map((_, i) => `c${i}`), "first", "tiles"];
  const poster = pictureFilters(request.posterSize, source.toneMap).join(",");
  const tilePicture = pictureFilters(request.tileSize, source.toneMap).join(",");
  const tileSlots = `fps=fps=1/${request.interval}:eof_action=pass`;
  const graph = [
    // Time 0 is the first video frame, whatever the container's start time.
    `[0:${source.videoStreamIndex}]setpts=PTS-STARTPTS,` +
      // Only frames flagged interlaced (DV, broadcast) are touched; progressive ones pass through.
      "yadif=mode=0:parity=-1:deint=1," +
      `split=${branches.length}${branches.map((b) => `[${b}]`).join("")}`,
    ...request.candidateTimes.map((time, i) => `[c${i}]${firstFrameAtOrAfter(time)},${poster}[out_c${i}]`),
    `[first]select='eq(n,0)',${poster}[out_first]`,
    // The fps filter rounds each frame to the nearest slot, so slot k keeps the last frame before
    // (k + 0.5) * interval; eof_action=pass gives a clip shorter than half an interval its frame.
    // With keyframes only, fps repeats frames rather than dropping them: scaling first then
    // scales each decoded frame once, for the same pixels.
    source.keyframesOnly
      ? `[tiles]${tilePicture},${tileSlots}[out_tiles]`
      : `[tiles]${tileSlots},${tilePicture}[out_tiles]`,
  ].join(";");

  const output = (label: string, frames: number, path: string) => ["-map", `[${label}]`, "-frames:v", String(frames), "-f", "rawvideo", path];
  return [
    "-v", "error", "-nostdin", "-y",
    ...(source.threads ? ["-threads", String(source.threads), "-filter_complex_threads", String(source.threads)] : []),
    ...safeInputOptions(),
    ...(source.keyframesOnly ? ["-skip_frame", "nokey"] : []),
    "-i", source.inputPath,
    "-filter_complex", graph,
    ...Array.from({ length: count }, (_, i) => output(`out_c${i}`, 1, files.candidates[i]!)).flat(),
    ...output("out_first", 1, files.firstFrame),
    ...output("out_tiles", request.tileCount, files.tiles),
  ];
}

function splitFrames(data: Buffer, size: FrameSize): Buffer[] {
  const bytes = rawFrameBytes(size);
  const frames: Buffer[] = [];
  for (let offset = 0; offset + bytes <= data.length; offset += bytes) frames.push(data.subarray(offset, offset + bytes));
  return frames;
}

async function readFrames(path: string, size: FrameSize): Promise<Buffer[]> {
  try {
    return splitFrames(await readFile(path), size);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Runs the extraction; the raw files stay in workDir (the caller owns and removes it). */
export async function extractFrames(source: FrameSource, request: FrameRequest, workDir: string): Promise<ExtractedFrames> {
  const files = extractionFiles(workDir, request.candidateTimes.length);
  await runProcess(source.ffmpegPath, extractionArgs(source, request, files), {
    logger: source.logger,
    signal: source.signal,
    task: "extracting thumbnail frames",
    ...source.deadline,
  });
  const candidates: (Buffer | null)[] = [];
  for (const path of files.candidates) candidates.push((await readFrames(path, request.posterSize))[0] ?? null);
  return {
    candidates,
    firstFrame: (await readFrames(files.firstFrame, request.posterSize))[0] ?? null,
    tiles: await readFrames(files.tiles, request.tileSize),
  };
}
