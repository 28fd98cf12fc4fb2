/** Formatting of times, sizes and rates for the page: pure functions, no DOM. */

/** "0:05", "12:34", "1:02:03": a media clock. Unknown or negative times read "0:00". */
export function formatClock(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const UNITS = ["B", "kB", "MB", "GB", "TB"] as const;

/** "999 B", "1.5 kB", "45 MB", "1.2 GB": decimal units, as file managers and browsers show them. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${bytes} B`;
  // 9.96 rounds to "10.0": round first, then choose the precision from the rounded value.
  const rounded = Math.round(value * 10) / 10;
  return `${rounded < 10 ? rounded.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** "4.2 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** "8 s", "2 min 10 s", "1 h 5 min": how long is left, to the precision a person reads. */
export function formatRemaining(seconds: number): string {
  const total = Math.max(1, Math.ceil(seconds));
  if (total < 60) return `${total} s`;
  if (total < 3600) {
    const m = Math.floor(total / 60);
    const s = total % 60;
    return s === 0 || m >= 10 ? `${m} min` : `${m} min ${s} s`;
  }
  const h = Math.floor(total / 3600);
  const m = Math.round((total % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** "3 minutes ago"-style age of an ISO date, relative to `now` (milliseconds). */
export function formatAge(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return minutes === 1 ? "a minute ago" : `${minutes} minutes ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return hours === 1 ? "an hour ago" : `${hours} hours ago`;
  const days = Math.round(hours / 24);
  return days === 1 ? "yesterday" : `${days} days ago`;
}

/**
 * Transfer rate over a sliding window of samples, so the speed and time left follow the
 * connection as it is now without jumping at every progress event.
 */
export class RateMeter {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records that `bytes` were done in total at time `at` (ms); returns the rate in bytes/s, or null while unknown. */
  sample(at: number, bytes: number): number | null {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
    return this.rate();
  }

  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 250) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  /** Forgets the history: after a pause, the old speed says nothing about the new one. */
  reset(): void {
    this.samples.length = 0;
  }
}

/** Seconds left to move `remaining` bytes at `rate` bytes/s, or null when that cannot be told. */
export function secondsLeft(remaining: number, rate: number | null): number | null {
  if (rate === null || rate <= 0 || !Number.isFinite(rate)) return null;
  return remaining / rate;
}
