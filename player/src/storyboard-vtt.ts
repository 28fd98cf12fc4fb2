/** The storyboard WebVTT (one cue per tile, `sheet.jpg#xywh=x,y,w,h`) parsed into tiles: pure. */

export interface StoryboardTile {
  start: number;
  end: number;
  /** The sprite sheet, resolved against the VTT's own URL. */
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

const TIMING = /^\s*((?:\d+:)?\d{1,2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}\.\d{3})/;

/** "01:02:03.456" or "02:03.456" in seconds. */
export function parseVttTimestamp(text: string): number {
  const parts = text.split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/**
 * Reads every cue whose payload is an image reference. A cue without a `#xywh=` fragment shows the
 * whole image, which needs its size: such cues get width and height 0 and the caller sizes the tile.
 * Cues it cannot read are skipped rather than failing the whole storyboard.
 */
export function parseStoryboardVtt(text: string, vttUrl: string): StoryboardTile[] {
  const tiles: StoryboardTile[] = [];
  const blocks = text.replace(/\r\n?/g, "\n").split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n").filter((line) => line.trim() !== "");
    const timingIndex = lines.findIndex((line) => TIMING.test(line));
    if (timingIndex < 0) continue;
    const timing = TIMING.exec(lines[timingIndex]!)!;
    const payload = lines[timingIndex + 1]?.trim();
    if (!payload) continue;
    const [ref, fragment = ""] = payload.split("#", 2);
    let url: string;
    try {
      url = new URL(ref!, vttUrl).href;
    } catch {
      continue;
    }
    const xywh = /(?:^|&)xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)/.exec(fragment);
    const [x, y, width, height] = xywh ? xywh.slice(1).map(Number) : [0, 0, 0, 0];
    tiles.push({ start: parseVttTimestamp(timing[1]!), end: parseVttTimestamp(timing[2]!), url, x: x!, y: y!, width: width!, height: height! });
  }
  return tiles.sort((a, b) => a.start - b.start);
}

/** The tile on screen at `time`: the last one starting at or before it (cues are contiguous). */
export function tileAt(tiles: readonly StoryboardTile[], time: number): StoryboardTile | null {
  let low = 0;
  let high = tiles.length - 1;
  let found: StoryboardTile | null = null;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const tile = tiles[mid]!;
    if (tile.start <= time) {
      found = tile;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found ?? tiles[0] ?? null;
}
