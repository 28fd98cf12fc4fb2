import type { EncodeQuality } from "../media/encoder-quality.ts";

/** One HLS segment as a part recorded it; publish builds the playlists from these. */
export interface SegmentRecord {
  uri: string;
  duration: number;
  bytes: number;
  /** First-frame byte range, for I-frame playlists (video only). */
  iframe?: { offset: number; length: number };
}

/** The marker a finished part writes: what it produced, and when. */
export interface PartRecord {
  part: string;
  startedAt: string;
  finishedAt: string;
  /** Segments per rendition name (`720p`, `audio`). */
  segments?: Record<string, SegmentRecord[]>;
  /** Video codec string per rendition, read from the first segment's SPS. */
  codecs?: Record<string, string>;
  /** Per rendition name: luma quality against the scaled source, as the encoder measured it (video chunks). */
  quality?: Record<string, EncodeQuality>;
  /** Anything else the part wants publish to know (thumbnail files). */
  details?: unknown;
  /**
   * The attempt's own prefix holding the part's files (`<rendition>/<segment>`, `thumbnails/…`),
   * which publish copies into the published tree. Absent: the files are already there.
   */
  location?: string;
}
