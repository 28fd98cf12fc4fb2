import { type Rung, X264_RATE_CONTROL } from "./ladder-table.ts";
import { toNumber, type Rational } from "./frame-rate.ts";

export interface Rendition {
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  maxrateKbps: number;
  bufsizeKbps: number;
  profile: Rung["profile"];
}

export interface LadderInput {
  /** Display size: sample aspect ratio and rotation already applied. */
  displayWidth: number;
  displayHeight: number;
  frameRate: Rational;
  rungs: readonly Rung[];
}

function even(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}

/** The nearest even size, or the even size below when the nearest would exceed `limit`. */
function evenWithin(value: number, limit: number): number {
  const rounded = even(value);
  return rounded > limit ? Math.max(2, 2 * Math.floor(limit / 2)) : rounded;
}

/**
 * The renditions for one source: every rung whose short side fits within the source's (never
 * upscaled), the aspect ratio kept, sizes rounded to even numbers. Portrait sources get portrait
 * renditions of the same rungs. A source smaller than every rung gets one rendition at its own size.
 */
export function planLadder(input: LadderInput): Rendition[] {
  const { displayWidth, displayHeight, rungs } = input;
  const portrait = displayHeight > displayWidth;
  const sourceShort = Math.min(displayWidth, displayHeight);
  const aspect = Math.max(displayWidth, displayHeight) / sourceShort;
  const highFrameRate = toNumber(input.frameRate) > 31;
  const sorted = [...rungs].sort((a, b) => b.shortSide - a.shortSide);
  let chosen = sorted.filter((rung) => rung.shortSide <= sourceShort);
  const smallest = sorted[sorted.length - 1];
  if (chosen.length === 0 && smallest) {
    const scale = (sourceShort * sourceShort * aspect) / (smallest.shortSide * smallest.shortSide * (16 / 9));
    chosen = [{ ...smallest, name: `${evenWithin(sourceShort, sourceShort)}p`, shortSide: sourceShort, videoKbps: Math.max(100, Math.round(smallest.videoKbps * scale)) }];
  }

  const renditions: Rendition[] = [];
  for (const rung of chosen) {
    const sourceLong = Math.max(displayWidth, displayHeight);
    const short = evenWithin(rung.shortSide, sourceShort);
    const long = evenWithin(short * aspect, sourceLong);
    const [width, height] = portrait ? [short, long] : [long, short];
    if (renditions.some((r) => r.width === width && r.height === height)) continue;
    // Rung bitrates assume 16:9; wider or squarer frames get bitrate in proportion to their pixels.
    const areaFactor = Math.min(1.5, Math.max(0.5, aspect / (16 / 9)));
    const videoKbps = Math.round(rung.videoKbps * areaFactor * (highFrameRate ? 1.5 : 1));
    renditions.push({
      name: rung.name,
      width,
      height,
      videoKbps,
      maxrateKbps: Math.round(videoKbps * X264_RATE_CONTROL.maxrateFactor),
      bufsizeKbps: Math.round(videoKbps * X264_RATE_CONTROL.bufsizeFactor),
      profile: rung.profile,
    });
  }
  return renditions;
}
