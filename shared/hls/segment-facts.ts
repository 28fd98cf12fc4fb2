/**
 * Facts about one HLS segment file, measured independently of how it was made. ffmpeg demuxes
 * the file and lists every packet (`-c copy -f framecrc`: timestamps, durations, keyframe flags,
 * the coded size and sample rate); for MPEG-TS we also read the first access unit ourselves,
 * which gives the real codec string (H.264 SPS, AAC ADTS header), whether the segment opens with
 * an IDR, and the byte range an I-frame playlist should point at. Nothing here trusts playlists.
 *
 * Why ffmpeg and not ffprobe: the npm-bundled ffprobe (2023 static build) dies with SIGSEGV on
 * any MPEG-TS file on these machines, while framecrc output is the same from the bundled 2018
 * ffmpeg and Debian's 5.1, so the check runs on the zero-setup path too.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { FfmpegBinaries } from "../media/ffmpeg-binaries.ts";
import { runProcess } from "../media/run-process.ts";
import type { Logger } from "../logger.ts";
import { h264CodecString, NAL_TYPE, splitAnnexB } from "./h264-codec-string.ts";

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

const TS_PACKET = 188;

export async function gatherSegmentFacts(path: string, kind: SegmentKind, options: SegmentFactsOptions): Promise<SegmentFacts> {
  const absolute = resolve(path);
  const content = await readFile(absolute);
  const isTs = content.length >= TS_PACKET && content[0] === 0x47 && (content.length === TS_PACKET || content[TS_PACKET] === 0x47);
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
    firstPts: round(firstPts),
    endPts: round(endPts),
    startsWithKeyframe: packets[0]!.keyframe,
    frameDuration: round(frameDuration),
  };
  if (listing.width) facts.width = listing.width;
  if (listing.height) facts.height = listing.height;
  if (listing.sampleRate) facts.sampleRate = listing.sampleRate;
  return facts;
}

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * RFC 6381 codec string of a TS audio stream from its PMT stream type and first PES payload.
 * AAC in ADTS names its object type (2 = LC); HE-AAC signalled implicitly (SBR inside an "LC"
 * ADTS stream) reads as mp4a.40.2, which is what vodpipe never produces anyway.
 */
export function audioCodecFromTs(streamType: number, payload: Buffer): { codec?: string; channels?: number; sampleRate?: number } | undefined {
  if (streamType === 0x0f) {
    if (payload.length < 7 || payload[0] !== 0xff || (payload[1]! & 0xf6) !== 0xf0) return undefined;
    const objectType = ((payload[2]! >> 6) & 0x3) + 1;
    const sampleRate = AAC_SAMPLE_RATES[(payload[2]! >> 2) & 0xf];
    const channels = ((payload[2]! & 0x1) << 2) | (payload[3]! >> 6);
    return { codec: `mp4a.40.${objectType}`, ...(sampleRate ? { sampleRate } : {}), ...(channels ? { channels } : {}) };
  }
  if (streamType === 0x03 || streamType === 0x04) return { codec: "mp4a.40.34" };
  if (streamType === 0x81) return { codec: "ac-3" };
  if (streamType === 0x87) return { codec: "ec-3" };
  return undefined;
}

function typicalFrameDuration(packets: { pts: number; duration: number }[]): number {
  const durations = packets.map((packet) => packet.duration).filter((duration) => duration > 0);
  if (durations.length > 0) return mostCommon(durations);
  const sorted = packets.map((packet) => packet.pts).sort((a, b) => a - b);
  const deltas = sorted.slice(1).map((pts, index) => pts - sorted[index]!).filter((delta) => delta > 0);
  return deltas.length > 0 ? mostCommon(deltas) : 0;
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best = values[0]!;
  for (const [value, count] of counts) {
    if (count > counts.get(best)! || (count === counts.get(best)! && value < best)) best = value;
  }
  return best;
}

function parseRational(text: string): number | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match || Number(match[2]) === 0) return undefined;
  return Number(match[1]) / Number(match[2]);
}

/** Microsecond precision: timestamps are 90 kHz ticks, and this keeps JSON reports readable. */
function round(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

export interface FirstAccessUnit {
  /** The PMT stream_type (0x1b H.264, 0x24 HEVC, 0x0f AAC in ADTS, 0x03/0x04 MPEG audio, ...). */
  streamType: number;
  /** The first PES payload of the stream: one access unit (Annex-B for H.264), PES header removed. */
  payload: Buffer;
  /**
   * From byte 0 (so PAT and PMT are included and the range demuxes on its own) to the end of the
   * TS packet that carries the last byte of the first PES.
   */
  range: { offset: number; length: number };
}

export const H264_STREAM_TYPE = 0x1b;
const STREAM_TYPES: Record<SegmentKind, ReadonlySet<number>> = {
  video: new Set([0x01, 0x02, 0x10, H264_STREAM_TYPE, 0x24]),
  audio: new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x87]),
};

/** Reads the first access unit of the first video (or audio) stream of an MPEG-TS buffer. */
export function readFirstAccessUnit(ts: Buffer, kind: SegmentKind = "video"): FirstAccessUnit | undefined {
  let pmtPid: number | undefined;
  let stream: { pid: number; streamType: number } | undefined;
  const payloads: Buffer[] = [];

  const finish = (end: number): FirstAccessUnit | undefined => {
    if (!stream) return undefined;
    const pes = Buffer.concat(payloads);
    if (pes.length < 9 || pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) return undefined;
    return { streamType: stream.streamType, payload: pes.subarray(9 + pes[8]!), range: { offset: 0, length: end } };
  };

  for (let at = 0; at + TS_PACKET <= ts.length; at += TS_PACKET) {
    if (ts[at] !== 0x47) return undefined;
    const pusi = (ts[at + 1]! & 0x40) !== 0;
    const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    const adaptation = (ts[at + 3]! >> 4) & 0x3;
    let start = at + 4;
    if (adaptation & 0x2) start += 1 + ts[at + 4]!;
    if (!(adaptation & 0x1) || start >= at + TS_PACKET) continue;
    const payload = ts.subarray(start, at + TS_PACKET);

    if (pid === 0 && pusi && pmtPid === undefined) {
      pmtPid = pmtPidFromPat(payload);
    } else if (pid === pmtPid && pusi && !stream) {
      stream = streamFromPmt(payload, STREAM_TYPES[kind]);
    } else if (stream && pid === stream.pid) {
      if (pusi && payloads.length > 0) return finish(at);
      if (pusi || payloads.length > 0) payloads.push(payload);
    }
  }
  return payloads.length > 0 ? finish(ts.length - (ts.length % TS_PACKET)) : undefined;
}

/** The first video access unit: its SPS, whether it is an IDR, and its byte range. */
export function readFirstVideoAccessUnit(ts: Buffer): FirstAccessUnit | undefined {
  return readFirstAccessUnit(ts, "video");
}

function sectionStart(payload: Buffer): number {
  return 1 + payload[0]!; // pointer_field
}

function pmtPidFromPat(payload: Buffer): number | undefined {
  const table = sectionStart(payload);
  if (payload[table] !== 0x00) return undefined;
  const sectionLength = ((payload[table + 1]! & 0x0f) << 8) | payload[table + 2]!;
  const end = Math.min(payload.length, table + 3 + sectionLength - 4);
  for (let at = table + 8; at + 4 <= end; at += 4) {
    const program = (payload[at]! << 8) | payload[at + 1]!;
    if (program !== 0) return ((payload[at + 2]! & 0x1f) << 8) | payload[at + 3]!;
  }
  return undefined;
}

function streamFromPmt(payload: Buffer, types: ReadonlySet<number>): { pid: number; streamType: number } | undefined {
  const table = sectionStart(payload);
  if (payload[table] !== 0x02) return undefined;
  const sectionLength = ((payload[table + 1]! & 0x0f) << 8) | payload[table + 2]!;
  const end = Math.min(payload.length, table + 3 + sectionLength - 4);
  const programInfoLength = ((payload[table + 10]! & 0x0f) << 8) | payload[table + 11]!;
  for (let at = table + 12 + programInfoLength; at + 5 <= end; ) {
    const streamType = payload[at]!;
    const pid = ((payload[at + 1]! & 0x1f) << 8) | payload[at + 2]!;
    const infoLength = ((payload[at + 3]! & 0x0f) << 8) | payload[at + 4]!;
    if (types.has(streamType)) return { pid, streamType };
    at += 5 + infoLength;
  }
  return undefined;
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
