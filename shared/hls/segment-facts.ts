/**
 * Facts about one HLS segment file, measured independently of how it was made. Nothing here
 * trusts playlists.
 *
 * MPEG-TS segments (everything vodpipe writes) are read in JavaScript by ts-reader.ts: PAT, PMT,
 * PES timestamps, H.264 access units and ADTS frames, plus the first access unit's codec string,
 * IDR and I-frame byte range. That costs about a millisecond where one ffmpeg per segment cost
 * ~85 ms, and the publish step runs it over every segment before a video is ready.
 *
 * Anything else, or a TS file the reader cannot make sense of (another codec, lost sync, an ADTS
 * stream cut mid-frame), goes to ffmpeg: `-c copy -f framecrc` lists every packet's timestamps,
 * duration and keyframe flag. Why ffmpeg and not ffprobe: the npm-bundled ffprobe (2023 static
 * build) dies with SIGSEGV on any MPEG-TS file on these machines, while framecrc output is the
 * same from the bundled 2018 ffmpeg and Debian's 5.1, so the fallback runs on the zero-setup path.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { FfmpegBinaries } from "../media/ffmpeg-binaries.ts";
import { runProcess } from "../media/run-process.ts";
import type { Logger } from "../logger.ts";
import { h264CodecString, NAL_TYPE, splitAnnexB } from "./h264-codec-string.ts";
import { audioCodecFromTs, H264_STREAM_TYPE, looksLikeTs, measureTsSegment, mostCommon, readFirstAccessUnit, roundToMicroseconds } from "./ts-reader.ts";

// Moved to ts-reader.ts; re-exported for callers that import them from here.
export { audioCodecFromTs, H264_STREAM_TYPE, readFirstAccessUnit, readFirstVideoAccessUnit, type FirstAccessUnit } from "./ts-reader.ts";

export type SegmentKind = "video" | "audio";

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

export interface SegmentFactsOptions {
  binaries: Pick<FfmpegBinaries, "ffmpeg">;
  logger?: Logger;
  signal?: AbortSignal;
}

/** A segment that can be read but lacks what the checker needs (no video stream, no packets). */
export class SegmentUnreadableError extends Error {
  override readonly name = "SegmentUnreadableError";
}

/**
 * Measures one segment file. The choice of reader is explicit: MPEG-TS goes to the JavaScript
 * reader, and only what it declines (not TS, or TS it cannot make sense of) goes to ffmpeg.
 */
export async function gatherSegmentFacts(path: string, kind: SegmentKind, options: SegmentFactsOptions): Promise<SegmentFacts> {
  const content = await readFile(resolve(path));
  if (looksLikeTs(content)) {
    const result = measureTsSegment(content, kind);
    switch (result.outcome) {
      case "measured":
        return result.facts;
      case "no-stream":
        throw new SegmentUnreadableError(`no ${kind} stream`);
      case "no-packets":
        throw new SegmentUnreadableError(`no ${kind} packets with timestamps`);
      case "fallback":
        options.logger?.debug({ path, reason: result.reason }, "segment measured with ffmpeg");
        break;
    }
  }
  return gatherSegmentFactsWithFfmpeg(path, kind, options, content);
}

/** The ffmpeg framecrc reader on its own (any container); `content` saves reading the file again. */
export async function gatherSegmentFactsWithFfmpeg(path: string, kind: SegmentKind, options: SegmentFactsOptions, content?: Buffer): Promise<SegmentFacts> {
  const absolute = resolve(path);
  content ??= await readFile(absolute);
  const isTs = looksLikeTs(content);
  const unit = isTs ? readFirstAccessUnit(content, kind) : undefined;
  if (isTs && !unit) throw new SegmentUnreadableError(`no ${kind} stream`);

  const listing = await listPackets(absolute, kind, isTs, options);
  const facts = factsFromPackets(parseFramecrc(listing), kind);
  facts.bytes = content.length;
  if (unit && kind === "video") {
    facts.iframe = unit.range;
    if (unit.streamType === H264_STREAM_TYPE) {
      facts.startsWithIdr = splitAnnexB(unit.payload).some((nal) => nal.type === NAL_TYPE.IDR);
      const codec = h264CodecString(unit.payload);
      if (codec) facts.codec = codec;
    }
  } else if (unit) {
    const audio = audioCodecFromTs(unit.streamType, unit.payload);
    if (audio?.codec) facts.codec = audio.codec;
    if (audio?.channels) facts.channels = audio.channels;
    if (audio?.sampleRate && !facts.sampleRate) facts.sampleRate = audio.sampleRate;
  }
  return facts;
}

async function listPackets(path: string, kind: SegmentKind, isTs: boolean, options: SegmentFactsOptions): Promise<string> {
  const args = [
    "-nostdin",
    "-hide_banner",
    "-loglevel", "error",
    "-protocol_whitelist", "file",
    ...(isTs ? ["-f", "mpegts"] : []),
    "-copyts",
    // The file: prefix keeps a name such as "concat:x" or "-x" from meaning anything else.
    "-i", `file:${path}`,
    "-map", kind === "video" ? "0:v:0" : "0:a:0",
    "-c", "copy",
    "-f", "framecrc",
    "-",
  ];
  const { stdout } = await runProcess(options.binaries.ffmpeg, args, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    // A non-zero exit means ffmpeg could not read this file; a signal means it was killed.
    classify: ({ signal }) => (signal ? "retryable" : "permanent"),
  });
  return stdout.toString("utf8");
}

export interface PacketListing {
  timeBase: number;
  width?: number;
  height?: number;
  sampleRate?: number;
  packets: { pts: number; duration: number; keyframe: boolean }[];
}

const NO_PTS = "-9223372036854775808";

/** Parses ffmpeg's framecrc output (one stream): "#tb 0: 1/90000", then "0, dts, pts, duration, size, crc[, F=0x0]". */
export function parseFramecrc(text: string): PacketListing {
  const listing: PacketListing = { timeBase: 1 / 90_000, packets: [] };
  for (const line of text.split(/\r?\n/)) {
    const header = /^#(\w+) 0: (.*)$/.exec(line.trim());
    if (header) {
      const [, name, value] = header as unknown as [string, string, string];
      if (name === "tb") listing.timeBase = parseRational(value) ?? listing.timeBase;
      if (name === "dimensions") {
        const size = /^(\d+)x(\d+)$/.exec(value.trim());
        if (size) [listing.width, listing.height] = [Number(size[1]), Number(size[2])];
      }
      if (name === "sample_rate" && Number(value) > 0) listing.sampleRate = Number(value);
      continue;
    }
    const fields = line.split(",").map((field) => field.trim());
    if (fields.length < 6 || fields[0] !== "0" || fields[2] === NO_PTS) continue;
    const flags = fields.slice(6).find((field) => field.startsWith("F="));
    listing.packets.push({
      pts: Number(fields[2]),
      duration: Number(fields[3]),
      // framecrc writes F= only when the flags are not exactly "keyframe".
      keyframe: flags === undefined ? true : (Number.parseInt(flags.slice(2), 16) & 1) === 1,
    });
  }
  return listing;
}

export function factsFromPackets(listing: PacketListing, kind: SegmentKind): SegmentFacts {
  const { packets, timeBase } = listing;
  if (packets.length === 0) throw new SegmentUnreadableError(`no ${kind} packets with timestamps`);
  const frameDuration = typicalFrameDuration(packets) * timeBase;
  let firstPts = Infinity;
  let endPts = -Infinity;
  for (const packet of packets) {
    const pts = packet.pts * timeBase;
    const duration = packet.duration > 0 ? packet.duration * timeBase : frameDuration;
    firstPts = Math.min(firstPts, pts);
    endPts = Math.max(endPts, pts + duration);
  }
  const facts: SegmentFacts = {
    bytes: 0,
    packets: packets.length,
    firstPts: roundToMicroseconds(firstPts),
    endPts: roundToMicroseconds(endPts),
    startsWithKeyframe: packets[0]!.keyframe,
    frameDuration: roundToMicroseconds(frameDuration),
  };
  if (listing.width) facts.width = listing.width;
  if (listing.height) facts.height = listing.height;
  if (listing.sampleRate) facts.sampleRate = listing.sampleRate;
  return facts;
}

function typicalFrameDuration(packets: { pts: number; duration: number }[]): number {
  const durations = packets.map((packet) => packet.duration).filter((duration) => duration > 0);
  if (durations.length > 0) return mostCommon(durations);
  const sorted = packets.map((packet) => packet.pts).sort((a, b) => a - b);
  const deltas = sorted.slice(1).map((pts, index) => pts - sorted[index]!).filter((delta) => delta > 0);
  return deltas.length > 0 ? mostCommon(deltas) : 0;
}

function parseRational(text: string): number | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match || Number(match[2]) === 0) return undefined;
  return Number(match[1]) / Number(match[2]);
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failed = true; // start nothing new once the whole map has failed
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
