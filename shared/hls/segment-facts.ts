/**
 * Facts about one HLS segment file, measured independently of how it was made (measure-segment.ts
 * gathers them). Nothing here trusts playlists.
 */
import type { StreamKind } from "./mpeg-ts.ts";

export type SegmentKind = StreamKind;

export interface SegmentFacts {
  bytes: number;
  /** Packets (frames) of the measured stream. */
  packets: number;
  /** Seconds: the lowest presentation timestamp. */
  firstPts: number;
  /** Seconds: max(pts + duration) over the packets, the end in presentation order. */
  endPts: number;
  /** The first packet in decode order carries the keyframe flag. */
  startsWithKeyframe: boolean;
  /** Seconds: the most common packet duration (one video frame, or one AAC frame of 1024 samples). */
  frameDuration: number;
  /** "avc1.PPCCLL" from the H.264 SPS, "mp4a.40.N" from the ADTS header (MPEG-TS segments). */
  codec?: string;
  /** Video in MPEG-TS: the first access unit contains an IDR slice. */
  startsWithIdr?: boolean;
  /** Video in MPEG-TS: from the file start through the last TS packet of the first frame. */
  iframe?: { offset: number; length: number };
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

/** A segment that can be read but lacks what the checker needs (no video stream, no packets). */
export class SegmentUnreadableError extends Error {
  override readonly name = "SegmentUnreadableError";
}
