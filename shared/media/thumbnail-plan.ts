import { PermanentError } from "../errors.ts";

/**
 * Where a video's poster candidates and storyboard tiles come from, what size every image is and
 * how tiles pack into sprite sheets. Pure: no file, process or clock.
 */
export interface ThumbnailSettings {
  /** The full-size poster is the display size, scaled down so its long side is at most this. */
  posterMaxLongSide: number;
  /** Extra poster widths; a width above the full poster's is skipped. */
  posterWidths: readonly number[];
  /** Candidate poster times as fractions of the duration. */
  candidateFractions: readonly number[];
  /** Candidates closer than this to the previous kept one are dropped (very short clips). */
  minCandidateSpacing: number;
  /** A tile fits in a square of this side, aspect kept, never larger than the display size. */
  tileBox: number;
  /** The storyboard interval is the first of `intervals` that keeps the tile count at or below this. */
  maxTiles: number;
  intervals: readonly number[];
  columns: number;
  maxRowsPerSheet: number;
}

export const DEFAULT_THUMBNAIL_SETTINGS: ThumbnailSettings = Object.freeze({
  posterMaxLongSide: 1920,
  posterWidths: [640, 320],
  candidateFractions: [0.1, 0.25, 0.4, 0.55, 0.7, 0.85],
  minCandidateSpacing: 0.04,
  tileBox: 160,
  maxTiles: 200,
  intervals: [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600],
  columns: 10,
  maxRowsPerSheet: 10,
});

/** Storyboard sheets are JPEG: every browser and player decodes it, and tiles are small photos. */
export const SHEET_EXTENSION = "jpg";
export const STORYBOARD_VTT = "storyboard.vtt";

export interface ImageSize {
  width: number;
  height: number;
}

export interface PosterSize extends ImageSize {
  /** File name without extension: "poster", "poster-640", "poster-320". */
  name: string;
}

export interface PlannedTile {
  index: number;
  /** Cue start and end, seconds on whole milliseconds; the last tile ends at the duration. */
  start: number;
  end: number;
  /** The tile shows the frame on screen at this time: the middle of its interval, at most the end. */
  frameTime: number;
  sheet: number;
  x: number;
  y: number;
}

export interface PlannedSheet extends ImageSize {
  index: number;
  name: string;
  firstTile: number;
  tileCount: number;
}

export interface StoryboardPlan {
  interval: number;
  tileWidth: number;
  tileHeight: number;
  /** Grid of a full sheet; the last sheet can have fewer rows. */
  columns: number;
  rows: number;
  tileCount: number;
  tiles: PlannedTile[];
  sheets: PlannedSheet[];
}

export interface ThumbnailPlan {
  poster: { width: number; height: number; sizes: PosterSize[]; candidateTimes: number[] };
  storyboard: StoryboardPlan;
}

export interface ThumbnailPlanInput {
  durationSeconds: number;
  displayWidth: number;
  displayHeight: number;
  settings?: Partial<ThumbnailSettings>;
}

const toMs = (seconds: number) => Math.round(seconds * 1000);
const onMs = (seconds: number) => toMs(seconds) / 1000;

export function planThumbnails(input: ThumbnailPlanInput): ThumbnailPlan {
  const settings = { ...DEFAULT_THUMBNAIL_SETTINGS, ...input.settings };
  const { durationSeconds, displayWidth, displayHeight } = input;
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) {
    throw new PermanentError(`thumbnails need a positive duration, got ${durationSeconds}`);
  }
  if (!(Number.isInteger(displayWidth) && displayWidth > 0 && Number.isInteger(displayHeight) && displayHeight > 0)) {
    throw new PermanentError(`thumbnails need a positive display size, got ${displayWidth}x${displayHeight}`);
  }
  return {
    poster: { ...posterSizes(displayWidth, displayHeight, settings), candidateTimes: candidateTimes(durationSeconds, settings) },
    storyboard: planStoryboard(durationSeconds, tileSize(displayWidth, displayHeight, settings.tileBox), settings),
  };
}

export function posterSizes(
  displayWidth: number,
  displayHeight: number,
  settings: Pick<ThumbnailSettings, "posterMaxLongSide" | "posterWidths">,
): { width: number; height: number; sizes: PosterSize[] } {
  const scale = Math.min(1, settings.posterMaxLongSide / Math.max(displayWidth, displayHeight));
  const width = Math.max(1, Math.round(displayWidth * scale));
  const height = Math.max(1, Math.round(displayHeight * scale));
  const sizes: PosterSize[] = [{ name: "poster", width, height }];
  for (const extra of settings.posterWidths) {
    if (extra > width) continue;
    sizes.push({ name: `poster-${extra}`, width: extra, height: Math.max(1, Math.round((extra * displayHeight) / displayWidth)) });
  }
  return { width, height, sizes };
}

export function candidateTimes(
  durationSeconds: number,
  settings: Pick<ThumbnailSettings, "candidateFractions" | "minCandidateSpacing">,
): number[] {
  const times: number[] = [];
  for (const fraction of [...settings.candidateFractions].sort((a, b) => a - b)) {
    const time = onMs(Math.min(Math.max(fraction, 0), 1) * durationSeconds);
    const previous = times[times.length - 1];
    if (previous === undefined || time - previous >= settings.minCandidateSpacing) times.push(time);
  }
  return times;
}

/** Aspect kept, fitting a square box, never larger than the display size. */
export function tileSize(displayWidth: number, displayHeight: number, box: number): ImageSize {
  if (displayWidth >= displayHeight) {
    const width = Math.min(box, displayWidth);
    return { width, height: Math.max(1, Math.round((width * displayHeight) / displayWidth)) };
  }
  const height = Math.min(box, displayHeight);
  return { width: Math.max(1, Math.round((height * displayWidth) / displayHeight)), height };
}

const tileCountFor = (durationSeconds: number, interval: number) => Math.max(1, Math.round(durationSeconds / interval));

export function chooseInterval(durationSeconds: number, settings: Pick<ThumbnailSettings, "intervals" | "maxTiles">): number {
  const fits = settings.intervals.find((interval) => tileCountFor(durationSeconds, interval) <= settings.maxTiles);
  if (fits !== undefined) return fits;
  // Longer than the list foresees: whole multiples of its largest step.
  const step = settings.intervals[settings.intervals.length - 1] ?? 1;
  return step * Math.ceil(durationSeconds / (step * settings.maxTiles));
}

function planStoryboard(durationSeconds: number, tile: ImageSize, settings: ThumbnailSettings): StoryboardPlan {
  const interval = chooseInterval(durationSeconds, settings);
  // Rounded, not ceiled: the last cue runs 0.5 to 1.5 intervals instead of ending in a sliver.
  const tileCount = tileCountFor(durationSeconds, interval);
  const columns = Math.min(settings.columns, tileCount);
  const rows = Math.min(settings.maxRowsPerSheet, Math.ceil(tileCount / columns));
  const perSheet = columns * rows;

  const sheets: PlannedSheet[] = [];
  for (let first = 0; first < tileCount; first += perSheet) {
    const count = Math.min(perSheet, tileCount - first);
    sheets.push({
      index: sheets.length,
      name: `storyboard-${sheets.length}.${SHEET_EXTENSION}`,
      width: columns * tile.width,
      height: Math.ceil(count / columns) * tile.height,
      firstTile: first,
      tileCount: count,
    });
  }

  const endMs = Math.max(1, toMs(durationSeconds));
  const tiles: PlannedTile[] = [];
  for (let index = 0; index < tileCount; index += 1) {
    const slot = index % perSheet;
    const startMs = Math.min(toMs(index * interval), endMs - 1);
    const last = index === tileCount - 1;
    tiles.push({
      index,
      start: startMs / 1000,
      end: (last ? endMs : toMs((index + 1) * interval)) / 1000,
      frameTime: onMs(Math.min((index + 0.5) * interval, durationSeconds)),
      sheet: Math.floor(index / perSheet),
      x: (slot % columns) * tile.width,
      y: Math.floor(slot / columns) * tile.height,
    });
  }
  return { interval, tileWidth: tile.width, tileHeight: tile.height, columns, rows, tileCount, tiles, sheets };
}

/** "01:02:03.456": WebVTT timestamps, always with hours. */
export function vttTimestamp(seconds: number): string {
  const ms = toMs(seconds);
  const pad = (value: number, width: number) => String(value).padStart(width, "0");
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor(ms / 60_000) % 60;
  const secs = Math.floor(ms / 1000) % 60;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(secs, 2)}.${pad(ms % 1000, 3)}`;
}

/** One cue per tile, contiguous from 0 to the duration; URIs are relative to the VTT file. */
export function storyboardVtt(storyboard: StoryboardPlan): string {
  const cues = storyboard.tiles.map((tile) => {
    const sheet = storyboard.sheets[tile.sheet];
    if (!sheet) throw new Error(`tile ${tile.index} points at missing sheet ${tile.sheet}`);
    return [
      `${vttTimestamp(tile.start)} --> ${vttTimestamp(tile.end)}`,
      `${sheet.name}#xywh=${tile.x},${tile.y},${storyboard.tileWidth},${storyboard.tileHeight}`,
    ].join("\n");
  });
  return `WEBVTT\n\n${cues.join("\n\n")}\n`;
}
