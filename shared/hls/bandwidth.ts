/**
 * Bit rates as HLS declares them: BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the
 * average segment bit rate (RFC 8216 4.3.4.2; Apple's HLS Authoring Spec 1.26/1.27 hold them to
 * within 10% of what is measured). Both count every byte of a segment file (container overhead
 * included) over its EXTINF duration.
 *
 * Peak, and the sliver problem: "bytes over duration" of one segment blows up for a very short
 * segment (a 0.08 s final segment whose bytes are mostly an IDR frame and the TS tables can
 * measure 2-3x the rung's real rate). RFC 8216bis defines the peak segment bit rate as the
 * largest bit rate of any contiguous set of segments whose total duration is between 0.5 and 1.5
 * times the target duration; that is what we measure, so a sliver is counted together with its
 * neighbour while every normal segment still counts on its own. A stream shorter than half the
 * target duration in total has no such set: its peak is its average.
 */
export interface SizedSegment {
  /** Seconds (the EXTINF value). */
  duration: number;
  bytes: number;
}

export interface Bandwidth {
  /** bit/s, rounded up. */
  peak: number;
  /** bit/s, rounded up. */
  average: number;
}

export interface BandwidthOptions {
  /** The playlist's EXT-X-TARGETDURATION; computed from the durations when not given. */
  targetDuration?: number;
}

const EPSILON = 1e-9;

/** EXT-X-TARGETDURATION: the longest EXTINF rounded to the nearest integer, and at least 1. */
export function targetDurationFor(durations: readonly number[]): number {
  return Math.max(1, ...durations.map((duration) => Math.round(duration)));
}

export function measureBandwidth(segments: readonly SizedSegment[], options: BandwidthOptions = {}): Bandwidth {
  const totalBits = segments.reduce((sum, segment) => sum + segment.bytes * 8, 0);
  const totalDuration = segments.reduce((sum, segment) => sum + segment.duration, 0);
  if (segments.length === 0 || totalDuration <= 0) return { peak: 0, average: 0 };
  const average = totalBits / totalDuration;

  const target = options.targetDuration ?? targetDurationFor(segments.map((segment) => segment.duration));
  const shortest = 0.5 * target - EPSILON;
  const longest = 1.5 * target + EPSILON;
  let peak = -1;
  for (let first = 0; first < segments.length; first++) {
    let bits = 0;
    let duration = 0;
    for (let last = first; last < segments.length; last++) {
      bits += segments[last]!.bytes * 8;
      duration += segments[last]!.duration;
      // A single segment always counts, even one longer than 1.5x the target (a broken playlist).
      if (duration > longest && last > first) break;
      if (duration >= shortest) peak = Math.max(peak, bits / duration);
    }
  }
  if (peak < 0) peak = average;
  return { peak: roundUp(peak), average: roundUp(average) };
}

/** Up to the next whole bit/s, ignoring floating-point dust (240000 / 0.3 is 800000.0000000001). */
function roundUp(rate: number): number {
  return Math.ceil(rate - 1e-6);
}

/** A variant's BANDWIDTH/AVERAGE-BANDWIDTH: its video plus the audio rendition played with it. */
export function combineBandwidth(video: Bandwidth, audio?: Bandwidth): Bandwidth {
  return audio ? { peak: video.peak + audio.peak, average: video.average + audio.average } : { ...video };
}
