/**
 * Gathers the facts about one HLS segment file, measured independently of how it was made. Nothing here
 * trusts playlists.
 *
 * MPEG-TS segments (everything vodpipe writes) are read in JavaScript by ts-segment-facts.ts:
 * PAT, PMT, PES timestamps, H.264 access units and ADTS frames, plus the first access unit's
 * codec string, IDR and I-frame byte range. That costs about a millisecond where one ffmpeg per segment cost
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
import { parseRational, toNumber } from "../media/frame-rate.ts";
import { runProcess } from "../media/run-process.ts";
import type { Logger } from "../logger.ts";
import { audioCodecFromTs } from "./adts.ts";
import { NAL_TYPE, splitAnnexB } from "./annex-b.ts";
import { h264CodecString } from "./h264-codec-string.ts";
import { H264_STREAM_TYPE, looksLikeTs, readFirstAccessUnit } from "./mpeg-ts.ts";
import { mostCommon, roundToMicroseconds } from "./numbers.ts";
import { SegmentUnreadableError, type SegmentFacts, type SegmentKind } from "./segment-facts.ts";
import { measureTsSegment } from "./ts-segment-facts.ts";

export interface SegmentFactsOptions {
  binaries: Pick<FfmpegBinaries, "ffmpeg">;
  logger?: Logger;
  signal?: AbortSignal;
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
    // What an HLS segment can be (MPEG-TS, fragmented MP4, packed audio): a segment of a tree
    // being checked is as untrusted as an upload.
    "-format_whitelist", "mpegts,mov,mp4,m4a,3gp,3g2,mj2,aac,mp3,ac3,eac3",
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
    classify: ({ signal }) =>
      signal
        ? { kind: "retryable", reason: "a check of the encoded output was interrupted" }
        : { kind: "permanent", reason: "the encoded output could not be read back" },
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
      if (name === "tb") {
        const timeBase = parseRational(value);
        if (timeBase) listing.timeBase = toNumber(timeBase);
      }
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
