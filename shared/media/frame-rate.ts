/** A frame rate as a fraction, so 29.97 stays 30000/1001 and frame times stay exact. */
export interface Rational {
  num: number;
  den: number;
}

const STANDARD_RATES: readonly Rational[] = [
  { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 },
  { num: 30, den: 1 }, { num: 48, den: 1 }, { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 },
  { num: 100, den: 1 }, { num: 120000, den: 1001 }, { num: 120, den: 1 },
];

export function toNumber(rate: Rational): number {
  return rate.num / rate.den;
}

export function parseRational(text: string | undefined): Rational | undefined {
  if (!text) return undefined;
  const [num, den = "1"] = text.split("/");
  const n = Number(num);
  const d = Number(den);
  if (!Number.isFinite(n) || !Number.isFinite(d) || n <= 0 || d <= 0) return undefined;
  return { num: n, den: d };
}

/** The nearest standard rate within 5%, else the measured rate to 1/1000 fps. */
export function snapFrameRate(fps: number): Rational {
  let best: Rational | undefined;
  let bestError = Number.POSITIVE_INFINITY;
  for (const rate of STANDARD_RATES) {
    const error = Math.abs(toNumber(rate) - fps) / fps;
    if (error < bestError) {
      best = rate;
      bestError = error;
    }
  }
  if (best && bestError <= 0.05) return best;
  return { num: Math.max(1, Math.round(fps * 1000)), den: 1000 };
}

/**
 * The output frame rate: measured from packet timing (headers lie: FLV says 1000 fps, phones vary),
 * falling back to the header rate for a single frame, then halved until it is under the cap.
 */
export function chooseFrameRate(options: {
  frameCount: number;
  /** From the first frame's start to the last frame's start: frameCount - 1 frame intervals. */
  startSpanSeconds: number;
  headerRate?: Rational;
  maxFrameRate: number;
}): Rational {
  const { frameCount, startSpanSeconds, headerRate, maxFrameRate } = options;
  let rate: Rational;
  if (frameCount >= 2 && startSpanSeconds > 0) {
    rate = snapFrameRate((frameCount - 1) / startSpanSeconds);
  } else if (headerRate && toNumber(headerRate) >= 1 && toNumber(headerRate) <= 240) {
    rate = snapFrameRate(toNumber(headerRate));
  } else {
    rate = { num: 30, den: 1 };
  }
  return capFrameRate(rate, maxFrameRate);
}

/** Halves a rate until it is at most `maxFrameRate` (60 fps stays 60, 120 becomes 60). */
export function capFrameRate(rate: Rational, maxFrameRate: number): Rational {
  let capped = rate;
  while (toNumber(capped) > maxFrameRate + 1e-9) {
    capped = capped.num % 2 === 0 ? { num: capped.num / 2, den: capped.den } : { num: capped.num, den: capped.den * 2 };
  }
  return capped;
}
