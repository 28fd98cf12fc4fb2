/** The most frequent value; ties go to the smaller one. */
export function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best = values[0]!;
  for (const [value, count] of counts) {
    if (count > counts.get(best)! || (count === counts.get(best)! && value < best)) best = value;
  }
  return best;
}

/**
 * Seconds to the microsecond: timestamps are 90 kHz ticks, and float noise then shows neither in
 * reports nor in comparisons.
 */
export function roundToMicroseconds(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}
