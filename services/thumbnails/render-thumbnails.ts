import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import {
  planThumbnails,
  storyboardVtt,
  STORYBOARD_VTT,
  type PlannedSheet,
  type StoryboardPlan,
} from "../../shared/media/thumbnail-plan.ts";
import { extractFrames, type FrameSize, type FrameSource } from "./extract-frames.ts";
import type { ImageFormat, PosterCandidate, ThumbnailFile, ThumbnailResult } from "../../shared/media/thumbnail-result.ts";

export interface RenderThumbnailsOptions {
  inputPath: string;
  outDir: string;
  durationSeconds: number;
  /** Absolute ffprobe stream index of the chosen video track. */
  videoStreamIndex: number;
  /** Size as displayed: sample aspect ratio and rotation applied. */
  displayWidth: number;
  displayHeight: number;
  ffmpegPath: string;
  logger: Logger;
  /** Parent of the scratch folder (removed afterwards); defaults to the OS temp folder. */
  tmpDir?: string;
  signal?: AbortSignal;
  /** The frame extraction's deadline (runProcess). */
  deadline?: FrameSource["deadline"];
  /** The source's HDR transfer (SourceInfo.video.hdr): tone-mapped to SDR like the renditions. */
  toneMap?: "pq" | "hlg" | null;
  threads?: number;
  /**
   * The source's longest keyframe gap. When it is at most the tile interval (or 2 s), only keyframes
   * are decoded: a tile may then show a frame up to that gap early, a fair price for decoding a
   * 1080p source at a fraction of the cost.
   */
  maxKeyframeGapSeconds?: number;
}

// Fixed encoder settings: the same frame always gives the same bytes (sharp writes no metadata).
const JPEG = { quality: 82, mozjpeg: true } as const;
const WEBP = { quality: 80, effort: 4 } as const;
const SHEET_JPEG = { quality: 75, mozjpeg: true } as const;

const rawInput = (size: FrameSize) => ({ raw: { width: size.width, height: size.height, channels: 3 as const } });

/**
 * Poster (best of a few candidate frames, in several sizes, JPEG and WebP) and storyboard (JPEG
 * sprite sheets plus a WebVTT index) for one video, written into outDir. Same input, same bytes.
 */
const KEYFRAME_ONLY_MAX_GAP_SECONDS = 2;

export async function renderThumbnails(options: RenderThumbnailsOptions): Promise<ThumbnailResult> {
  const { logger, signal } = options;
  const plan = planThumbnails(options);
  await mkdir(options.outDir, { recursive: true });
  const work = await mkdtemp(join(options.tmpDir ?? tmpdir(), "vodpipe-thumbs-"));
  const source: FrameSource = {
    ffmpegPath: options.ffmpegPath,
    inputPath: options.inputPath,
    videoStreamIndex: options.videoStreamIndex,
    toneMap: options.toneMap ?? null,
    threads: options.threads,
    keyframesOnly: options.maxKeyframeGapSeconds !== undefined && options.maxKeyframeGapSeconds <= Math.max(plan.storyboard.interval, KEYFRAME_ONLY_MAX_GAP_SECONDS),
    logger,
    signal,
    ...(options.deadline ? { deadline: options.deadline } : {}),
  };
  try {
    const posterSize = { width: plan.poster.width, height: plan.poster.height };
    const storyboard = plan.storyboard;
    const tile = { width: storyboard.tileWidth, height: storyboard.tileHeight };
    const frames = await extractFrames(
      source,
      { candidateTimes: plan.poster.candidateTimes, posterSize, interval: storyboard.interval, tileCount: storyboard.tileCount, tileSize: tile },
      work,
    );
    // Not one frame: ffmpeg exited 0 without writing (a full disk), since ingest read the track.
    if (frames.firstFrame === null && frames.tiles.length === 0 && frames.candidates.every((frame) => frame === null)) {
      throw new RetryableError("the frame extraction exited without writing any frame", { reason: "the thumbnail frames could not be extracted (a full disk?)" });
    }
    const best = await choosePoster(plan.poster.candidateTimes, frames.candidates, frames.firstFrame, posterSize);
    signal?.throwIfAborted();

    const posterFiles: ThumbnailFile[] = [];
    for (const size of plan.poster.sizes) {
      const image = () => {
        const pipeline = sharp(best.frame, rawInput(posterSize));
        return size.width === posterSize.width && size.height === posterSize.height
          ? pipeline
          : pipeline.resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" });
      };
      await writeAtomic(options.outDir, `${size.name}.jpg`, await image().jpeg(JPEG).toBuffer());
      await writeAtomic(options.outDir, `${size.name}.webp`, await image().webp(WEBP).toBuffer());
      posterFiles.push(
        { path: `${size.name}.jpg`, width: size.width, height: size.height, format: "jpeg" },
        { path: `${size.name}.webp`, width: size.width, height: size.height, format: "webp" },
      );
    }
    signal?.throwIfAborted();

    const tiles = await fillTiles(frames.tiles, storyboard.tileCount, best.frame, posterSize, tile, logger);
    const sheets: ThumbnailFile[] = [];
    for (const sheet of storyboard.sheets) {
      await writeAtomic(options.outDir, sheet.name, await composeSheet(sheet, storyboard, tiles));
      sheets.push({ path: sheet.name, width: sheet.width, height: sheet.height, format: "jpeg" });
    }
    await writeAtomic(options.outDir, STORYBOARD_VTT, Buffer.from(storyboardVtt(storyboard), "utf8"));

    const result: ThumbnailResult = {
      poster: { time: best.time, entropy: best.entropy, candidates: best.candidates, files: posterFiles },
      storyboard: {
        vtt: STORYBOARD_VTT,
        sheets,
        tileWidth: storyboard.tileWidth,
        tileHeight: storyboard.tileHeight,
        columns: storyboard.columns,
        rows: storyboard.rows,
        interval: storyboard.interval,
        tileCount: storyboard.tileCount,
      },
    };
    logger.info(
      { posterTime: best.time, entropy: best.entropy, candidates: best.candidates.length, tiles: storyboard.tileCount, interval: storyboard.interval },
      "thumbnails rendered",
    );
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface ChosenPoster {
  time: number;
  entropy: number;
  frame: Buffer;
  candidates: PosterCandidate[];
}

async function score(frame: Buffer, size: FrameSize): Promise<{ entropy: number; contrast: number }> {
  const stats = await sharp(frame, rawInput(size)).stats();
  const contrast = stats.channels.reduce((sum, channel) => sum + channel.stdev, 0) / stats.channels.length;
  return { entropy: stats.entropy, contrast };
}

/**
 * The candidate with the highest entropy (a black, flat or fading frame scores low), then the
 * highest contrast, then the earliest. A time past the last frame has no frame and is skipped;
 * if every candidate is, the first frame is the poster.
 */
async function choosePoster(
  times: readonly number[],
  frames: readonly (Buffer | null)[],
  firstFrame: Buffer | null,
  size: FrameSize,
): Promise<ChosenPoster> {
  const candidates: PosterCandidate[] = [];
  let best: (PosterCandidate & { frame: Buffer }) | undefined;
  const consider = async (time: number, frame: Buffer) => {
    const candidate = { time, ...(await score(frame, size)) };
    candidates.push(candidate);
    if (!best || candidate.entropy > best.entropy || (candidate.entropy === best.entropy && candidate.contrast > best.contrast)) {
      best = { ...candidate, frame };
    }
  };
  for (const [i, time] of times.entries()) {
    const frame = frames[i];
    if (frame) await consider(time, frame);
  }
  if (!best && firstFrame) await consider(0, firstFrame);
  if (!best) throw new PermanentError("no frame of the video track could be decoded");
  return { time: best.time, entropy: best.entropy, frame: best.frame, candidates };
}

/**
 * One raw frame per tile. When ffmpeg returns fewer (the video ends early), the last decoded
 * frame is repeated; with none at all, the poster frame stands in.
 */
async function fillTiles(
  decoded: readonly Buffer[],
  tileCount: number,
  posterFrame: Buffer,
  posterSize: FrameSize,
  tile: FrameSize,
  logger: Logger,
): Promise<Buffer[]> {
  const frames = [...decoded];
  if (frames.length < tileCount) logger.debug({ decoded: frames.length, planned: tileCount }, "storyboard short; repeating the last frame");
  if (frames.length === 0) {
    frames.push(
      await sharp(posterFrame, rawInput(posterSize)).resize(tile.width, tile.height, { fit: "fill", kernel: "lanczos3" }).raw().toBuffer(),
    );
  }
  const last = frames[frames.length - 1]!;
  while (frames.length < tileCount) frames.push(last);
  return frames.slice(0, tileCount);
}

async function composeSheet(sheet: PlannedSheet, storyboard: StoryboardPlan, frames: readonly Buffer[]): Promise<Buffer> {
  const tile = { width: storyboard.tileWidth, height: storyboard.tileHeight };
  const layers = storyboard.tiles
    .filter((planned) => planned.sheet === sheet.index)
    .map((planned) => ({ input: frames[planned.index]!, ...rawInput(tile), left: planned.x, top: planned.y }));
  return sharp({ create: { width: sheet.width, height: sheet.height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite(layers)
    .jpeg(SHEET_JPEG)
    .toBuffer();
}

/** Write beside the target, then rename: a reader never sees half a file, a rerun replaces it whole. */
async function writeAtomic(dir: string, name: string, data: Buffer): Promise<void> {
  const target = join(dir, name);
  const temporary = join(dir, `.${name}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
