/**
 * HLS playlist text, written by vodpipe rather than ffmpeg (the bundled 2018 ffmpeg segfaults on a
 * master playlist, and chunked transcodes need playlists that span chunks). Pure: the same input
 * always gives the same bytes, so publishing twice rewrites identical files.
 */
import { targetDurationFor, type Bandwidth } from "./bandwidth.ts";

export interface MediaSegment {
  /** Relative to the playlist, e.g. "seg-00000.ts". */
  uri: string;
  /** Seconds. */
  duration: number;
  bytes: number;
  /** Where the segment's first (IDR) frame lies in the file, for the I-frame playlist. */
  iframe?: { offset: number; length: number };
}

export interface MediaPlaylistInput {
  segments: readonly MediaSegment[];
  /** Defaults to the longest EXTINF rounded to the nearest integer; may be larger, never smaller. */
  targetDuration?: number;
  /**
   * VOD (default): complete, with EXT-X-ENDLIST. EVENT: a playlist that only grows (progressive
   * publish), no end list yet; it becomes the VOD playlist, same segments, once the video is done.
   */
  playlistType?: "VOD" | "EVENT";
}

export interface Resolution {
  width: number;
  height: number;
}

export interface VariantStream {
  /** The rendition's media playlist, relative to the master, e.g. "720p/index.m3u8". */
  uri: string;
  /** Peak bit/s of the VIDEO rendition alone; the writer adds the audio rendition's peak. */
  bandwidth: number;
  /** Average bit/s of the VIDEO rendition alone; the writer adds the audio rendition's average. */
  averageBandwidth: number;
  /** The video codec only, e.g. "avc1.64001F"; the writer appends the audio codec. */
  codecs: string;
  resolution: Resolution;
  frameRate: number;
  /** The rendition's I-frame playlist and its own measured rates (I-frame bytes over EXTINF). */
  iframes?: { uri: string; bandwidth: number; averageBandwidth: number };
}

export interface AudioRendition {
  groupId: string;
  name: string;
  uri: string;
  channels: number;
  language?: string;
  default: boolean;
  /** Defaults to AAC-LC, "mp4a.40.2". */
  codecs?: string;
  /** Measured rates of the audio rendition; added to every variant's BANDWIDTH/AVERAGE-BANDWIDTH. */
  bandwidth: Bandwidth;
}

export interface MasterPlaylistInput {
  variants: readonly VariantStream[];
  audio?: AudioRendition;
  /**
   * Which variant is listed first. Safari/AVPlayer (and players that honour the list order) start
   * with the first variant before they have measured anything, so we list first the highest
   * variant whose total BANDWIDTH (video + audio) is at most this many bit/s (the lowest variant if none is), then the
   * rest from highest to lowest. Default 2,000,000: a 480p/540p-class start that plays at once on
   * most connections and lets ABR climb within a segment or two.
   */
  startBandwidth?: number;
}

export const AAC_LC_CODEC = "mp4a.40.2";
export const DEFAULT_START_BANDWIDTH = 2_000_000;

/** The header lines of a media playlist (an I-frame playlist needs version 4). */
function vodHeader(version: number, input: MediaPlaylistInput): string[] {
  return [
    "#EXTM3U",
    `#EXT-X-VERSION:${version}`,
    `#EXT-X-TARGETDURATION:${checkedTargetDuration(input)}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    `#EXT-X-PLAYLIST-TYPE:${input.playlistType ?? "VOD"}`,
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
}

export function writeMediaPlaylist(input: MediaPlaylistInput): string {
  const lines = vodHeader(3, input);
  for (const segment of input.segments) {
    lines.push(`#EXTINF:${formatDuration(segment.duration)},`, checkedUri(segment.uri));
  }
  if (input.playlistType !== "EVENT") lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

/** One I-frame per segment (its first IDR), as byte ranges into the media segments. */
export function writeIFramePlaylist(input: MediaPlaylistInput): string {
  const lines = [...vodHeader(4, input), "#EXT-X-I-FRAMES-ONLY"];
  for (const segment of input.segments) {
    const range = segment.iframe;
    if (!range) throw new Error(`segment ${segment.uri} has no I-frame byte range`);
    if (!isCount(range.offset) || !isCount(range.length) || range.length === 0) {
      throw new Error(`segment ${segment.uri}: invalid I-frame byte range ${range.length}@${range.offset}`);
    }
    lines.push(
      `#EXTINF:${formatDuration(segment.duration)},`,
      `#EXT-X-BYTERANGE:${range.length}@${range.offset}`,
      checkedUri(segment.uri),
    );
  }
  lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

export function writeMasterPlaylist(input: MasterPlaylistInput): string {
  if (input.variants.length === 0) throw new Error("a master playlist needs at least one variant");
  const audio = input.audio;
  // From here on, bandwidth means the variant's total: its video plus the audio played with it.
  const totals = input.variants.map((variant) => ({
    ...variant,
    bandwidth: variant.bandwidth + (audio?.bandwidth.peak ?? 0),
    averageBandwidth: variant.averageBandwidth + (audio?.bandwidth.average ?? 0),
  }));
  const variants = orderVariants(totals, input.startBandwidth ?? DEFAULT_START_BANDWIDTH);
  const hasIFrames = variants.some((variant) => variant.iframes);
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${hasIFrames ? 4 : 3}`, "#EXT-X-INDEPENDENT-SEGMENTS"];

  if (audio) {
    const attributes = [
      "TYPE=AUDIO",
      `GROUP-ID=${quoted(audio.groupId)}`,
      `NAME=${quoted(audio.name)}`,
      ...(audio.language ? [`LANGUAGE=${quoted(audio.language)}`] : []),
      `DEFAULT=${audio.default ? "YES" : "NO"}`,
      "AUTOSELECT=YES",
      `CHANNELS=${quoted(String(checkedCount(audio.channels, "CHANNELS")))}`,
      `URI=${quoted(checkedUri(audio.uri))}`,
    ];
    lines.push("", `#EXT-X-MEDIA:${attributes.join(",")}`);
  }

  lines.push("");
  for (const variant of variants) {
    const codecs = audio ? `${variant.codecs},${audio.codecs ?? AAC_LC_CODEC}` : variant.codecs;
    const attributes = [
      `BANDWIDTH=${checkedCount(variant.bandwidth, "BANDWIDTH")}`,
      `AVERAGE-BANDWIDTH=${checkedCount(variant.averageBandwidth, "AVERAGE-BANDWIDTH")}`,
      `CODECS=${quoted(codecs)}`,
      `RESOLUTION=${formatResolution(variant.resolution)}`,
      `FRAME-RATE=${formatFrameRate(variant.frameRate)}`,
      ...(audio ? [`AUDIO=${quoted(audio.groupId)}`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(",")}`, checkedUri(variant.uri));
  }

  if (hasIFrames) lines.push("");
  for (const variant of variants) {
    if (!variant.iframes) continue;
    const attributes = [
      `BANDWIDTH=${checkedCount(variant.iframes.bandwidth, "BANDWIDTH")}`,
      `AVERAGE-BANDWIDTH=${checkedCount(variant.iframes.averageBandwidth, "AVERAGE-BANDWIDTH")}`,
      `CODECS=${quoted(variant.codecs)}`,
      `RESOLUTION=${formatResolution(variant.resolution)}`,
      `URI=${quoted(checkedUri(variant.iframes.uri))}`,
    ];
    lines.push(`#EXT-X-I-FRAME-STREAM-INF:${attributes.join(",")}`);
  }
  return lines.join("\n") + "\n";
}

/** The start variant first, then the others by BANDWIDTH, highest first (ties by URI). */
export function orderVariants<T extends Pick<VariantStream, "uri" | "bandwidth">>(
  variants: readonly T[],
  startBandwidth: number = DEFAULT_START_BANDWIDTH,
): T[] {
  const sorted = [...variants].sort((a, b) => b.bandwidth - a.bandwidth || (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  const start = sorted.find((variant) => variant.bandwidth <= startBandwidth) ?? sorted[sorted.length - 1];
  return start ? [start, ...sorted.filter((variant) => variant !== start)] : sorted;
}

function checkedTargetDuration(input: MediaPlaylistInput): number {
  if (input.segments.length === 0) throw new Error("a media playlist needs at least one segment");
  for (const segment of input.segments) {
    if (!Number.isFinite(segment.duration) || segment.duration <= 0) {
      throw new Error(`segment ${segment.uri}: invalid duration ${segment.duration}`);
    }
  }
  const needed = targetDurationFor(input.segments.map((segment) => segment.duration));
  if (input.targetDuration === undefined) return needed;
  if (!Number.isInteger(input.targetDuration) || input.targetDuration < needed) {
    throw new Error(`target duration ${input.targetDuration} is below the longest segment (needs ${needed})`);
  }
  return input.targetDuration;
}

function formatDuration(seconds: number): string {
  return seconds.toFixed(6);
}

function formatFrameRate(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) throw new Error(`invalid frame rate ${rate}`);
  return rate.toFixed(3);
}

function formatResolution({ width, height }: Resolution): string {
  return `${checkedCount(width, "RESOLUTION width")}x${checkedCount(height, "RESOLUTION height")}`;
}

function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new Error(`a quoted attribute cannot contain quotes or line breaks: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

function checkedUri(uri: string): string {
  if (!uri || /[\r\n]/.test(uri) || uri.startsWith("#")) throw new Error(`invalid playlist URI ${JSON.stringify(uri)}`);
  return uri;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function checkedCount(value: number, name: string): number {
  if (!isCount(value) || value === 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}
