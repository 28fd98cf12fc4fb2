/**
 * Quality of each rendition against the source scaled to it, as libx264 measured it while encoding
 * (`-ssim 1 -flags +psnr`): luma PSNR and SSIM, each the mean over the frames. Pure: stderr in,
 * numbers out; the frame-weighted means across chunks and the rule that flags a chunk live here too.
 */

/** One encode's luma quality. */
export interface EncodeQuality {
  /** Mean of the frames' luma PSNR, dB (x264's "PSNR Mean Y"). */
  psnr: number;
  /** Mean of the frames' luma SSIM, 0–1 (x264's "SSIM Mean Y"). */
  ssim: number;
  frames: number;
}

const SSIM_LINE = /^\[libx264 @ (0x[0-9a-f]+)\] SSIM Mean Y:([0-9.]+)/;
const PSNR_LINE = /^\[libx264 @ (0x[0-9a-f]+)\] PSNR Mean Y:([0-9.]+|inf)/;
const FRAMES_LINE = /^\[libx264 @ (0x[0-9a-f]+)\] frame [IPB]:(\d+)/;

/**
 * Each libx264 encoder's summary, in the order the encoders closed: ffmpeg closes them in the
 * order of its outputs, so entry i belongs to output i. An encoder is told apart by its context
 * address, which prefixes its lines.
 */
export function parseX264Quality(stderr: string): EncodeQuality[] {
  const byEncoder = new Map<string, { psnr?: number; ssim?: number; frames: number }>();
  const entry = (address: string) => {
    let found = byEncoder.get(address);
    if (!found) byEncoder.set(address, (found = { frames: 0 }));
    return found;
  };
  for (const line of stderr.split(/\r?\n/)) {
    const frames = FRAMES_LINE.exec(line);
    if (frames) entry(frames[1]!).frames += Number(frames[2]);
    const ssim = SSIM_LINE.exec(line);
    if (ssim) entry(ssim[1]!).ssim = Number(ssim[2]);
    const psnr = PSNR_LINE.exec(line);
    // A frame identical to its source has infinite PSNR: x264 prints "inf". 100 dB stands for it.
    if (psnr) entry(psnr[1]!).psnr = psnr[2] === "inf" ? 100 : Number(psnr[2]);
  }
  return [...byEncoder.values()].flatMap((e) => (e.psnr !== undefined && e.ssim !== undefined ? [{ psnr: e.psnr, ssim: e.ssim, frames: e.frames }] : []));
}

/** The frame-weighted mean of several encodes' quality (the chunks of one rendition). */
export function weightedQuality(parts: readonly EncodeQuality[]): EncodeQuality | undefined {
  const frames = parts.reduce((sum, part) => sum + part.frames, 0);
  if (frames === 0) return undefined;
  const mean = (pick: (q: EncodeQuality) => number) => parts.reduce((sum, part) => sum + pick(part) * part.frames, 0) / frames;
  return { psnr: round(mean((q) => q.psnr), 3), ssim: round(mean((q) => q.ssim), 5), frames };
}

/** A chunk whose quality fell well below its neighbours'. */
export interface QualityWarning {
  rendition: string;
  chunk: number;
  psnr: number;
  /** The lower of its neighbours' PSNR, which it fell more than QUALITY_DROP_DB below. */
  neighbourPsnr: number;
  message: string;
}

/** How far (dB) a chunk's PSNR must fall below each neighbour's to be flagged: 4 dB is 2.5× the error. */
export const QUALITY_DROP_DB = 4;

/**
 * Flags a chunk of a rendition whose luma PSNR is more than QUALITY_DROP_DB below that of EVERY
 * neighbouring chunk (the one before and the one after; one at either end). Content changes
 * from one chunk to the next move PSNR too, but rarely against both neighbours at once: a dip
 * below both is what a starved or broken encode looks like. Fewer than two chunks: nothing to
 * compare with.
 */
export function flagQualityDrops(rendition: string, chunks: ReadonlyArray<{ index: number; quality: EncodeQuality }>): QualityWarning[] {
  if (chunks.length < 2) return [];
  const warnings: QualityWarning[] = [];
  chunks.forEach(({ index, quality }, i) => {
    const neighbours = [chunks[i - 1], chunks[i + 1]].flatMap((n) => (n ? [n.quality.psnr] : []));
    const best = Math.min(...neighbours);
    if (quality.psnr < best - QUALITY_DROP_DB) {
      warnings.push({
        rendition,
        chunk: index,
        psnr: quality.psnr,
        neighbourPsnr: best,
        message: `chunk ${index} of ${rendition} measured ${quality.psnr.toFixed(1)} dB PSNR, more than ${QUALITY_DROP_DB} dB below its neighbours (${neighbours.map((p) => p.toFixed(1)).join(", ")} dB)`,
      });
    }
  });
  return warnings;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
