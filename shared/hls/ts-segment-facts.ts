/**
 * Timing facts of an MPEG-TS segment from its bytes, no process and no I/O: H.264 access units
 * (one per PES, as ffmpeg writes them) and AAC in ADTS (several frames per PES). Everything else
 * it reports as "fallback" so the caller can ask ffmpeg instead (measure-segment.ts).
 *
 * The facts mean what ffmpeg's `-c copy -f framecrc` listing meant, with two deliberate
 * differences where ffmpeg truncates to whole 90 kHz ticks: a video frame lasts the most common
 * PTS step (23.976 fps: 3754 ticks, where ffmpeg says floor(3753.75) = 3753), and an AAC frame
 * lasts exactly samples / sample rate (44.1 kHz: 2089.8 ticks, ffmpeg 2089). At 25/30/50/60 fps
 * and 48 kHz the two agree exactly.
 */
import { parseAdtsHeader, type AdtsHeader } from "./adts.ts";
import { leadingNalUnits, NAL_TYPE } from "./annex-b.ts";
import { h264CodecString } from "./h264-codec-string.ts";
import { isKeyframe, parseSps, type SpsInfo } from "./h264.ts";
import { AAC_ADTS_STREAM_TYPE, firstOfKind, H264_STREAM_TYPE, looksLikeTs, scanTs, TS_CLOCK, unwrapTimestamp, type PesPacket, type TsStream } from "./mpeg-ts.ts";
import { mostCommon, roundToMicroseconds } from "./numbers.ts";
import type { SegmentFacts, SegmentKind } from "./segment-facts.ts";

export type TsSegmentResult =
  | { outcome: "measured"; facts: SegmentFacts }
  /** Valid MPEG-TS without a stream of the kind asked for. */
  | { outcome: "no-stream" }
  /** The stream is there but carries no PES packet. */
  | { outcome: "no-packets" }
  /** This reader cannot measure it (codec, broken packets, a timing it cannot derive): ask ffmpeg. */
  | { outcome: "fallback"; reason: string };

/** Measures one MPEG-TS segment: the same SegmentFacts gatherSegmentFacts returns, from the bytes. */
export function measureTsSegment(ts: Buffer, kind: SegmentKind): TsSegmentResult {
  if (!looksLikeTs(ts)) return { outcome: "fallback", reason: "not MPEG-TS" };
  const scan = scanTs(ts, firstOfKind(kind));
  if (scan.problem) return { outcome: "fallback", reason: scan.problem };
  if (!scan.stream) return { outcome: "no-stream" };
  if (scan.pes.length === 0) return { outcome: "no-packets" };
  const measured = kind === "video" ? measureVideo(scan.stream, scan.pes) : measureAudio(scan.stream, scan.pes);
  if ("reason" in measured) return { outcome: "fallback", reason: measured.reason };
  measured.bytes = ts.length;
  return { outcome: "measured", facts: measured };
}

type Measured = SegmentFacts | { reason: string };

function measureVideo(stream: TsStream, pes: PesPacket[]): Measured {
  if (stream.streamType !== H264_STREAM_TYPE) return { reason: `video stream type 0x${stream.streamType.toString(16)} is not H.264` };
  if (pes.some((unit) => unit.pts === undefined)) return { reason: "a video PES without a PTS" };
  const reference = pes[0]!.dts ?? pes[0]!.pts!;
  const pts = pes.map((unit) => unwrapTimestamp(unit.pts!, reference)).sort((a, b) => a - b);
  const first = leadingNalUnits(pes[0]!.payload);

  let sps: SpsInfo | undefined;
  for (let index = 0; index < pes.length && !sps; index++) {
    const unit = (index === 0 ? first : leadingNalUnits(pes[index]!.payload)).find((nal) => nal.type === NAL_TYPE.SPS);
    if (!unit) continue;
    try {
      sps = parseSps(unit.data);
    } catch (error) {
      return { reason: `unreadable SPS: ${(error as Error).message}` };
    }
  }

  const steps = pts.slice(1).map((value, index) => value - pts[index]!).filter((step) => step > 0);
  // A one-frame segment has no PTS step; the SPS's VUI timing says how long a frame lasts.
  const frameDuration = steps.length > 0 ? mostCommon(steps) / TS_CLOCK : sps?.frameDuration;
  if (frameDuration === undefined) return { reason: "one frame and no VUI timing: frame duration unknown" };

  const facts: SegmentFacts = {
    bytes: 0,
    packets: pes.length,
    firstPts: roundToMicroseconds(pts[0]! / TS_CLOCK),
    endPts: roundToMicroseconds(pts[pts.length - 1]! / TS_CLOCK + frameDuration),
    startsWithKeyframe: isKeyframe(first),
    frameDuration: roundToMicroseconds(frameDuration),
    startsWithIdr: first.some((nal) => nal.type === NAL_TYPE.IDR),
    iframe: { offset: 0, length: pes[0]!.end },
  };
  const codec = h264CodecString(pes[0]!.payload);
  if (codec) facts.codec = codec;
  if (sps) [facts.width, facts.height] = [sps.width, sps.height];
  return facts;
}

function measureAudio(stream: TsStream, pes: PesPacket[]): Measured {
  if (stream.streamType !== AAC_ADTS_STREAM_TYPE) return { reason: `audio stream type 0x${stream.streamType.toString(16)} is not AAC in ADTS` };
  if (pes.some((unit) => unit.pts === undefined)) return { reason: "an audio PES without a PTS" };
  const reference = pes[0]!.pts!;
  const frames: { pts: number; duration: number }[] = [];
  let header: AdtsHeader | undefined;
  // ADTS frames may straddle PES packets: parse the concatenated stream, and give each PES's PTS
  // to the first frame that starts inside it; later frames follow on from the one before.
  let carry: Buffer = Buffer.alloc(0);
  for (const unit of pes) {
    const data = carry.length > 0 ? Buffer.concat([carry, unit.payload]) : unit.payload;
    let pesPts: number | undefined = unwrapTimestamp(unit.pts!, reference);
    let at = 0;
    while (at + 7 <= data.length) {
      const frame = parseAdtsHeader(data, at);
      if (!frame) return { reason: `no ADTS sync word at byte ${at} of a PES payload` };
      if (at + frame.frameLength > data.length) break;
      header ??= frame;
      const duration = (frame.samples * TS_CLOCK) / frame.sampleRate;
      const previous = frames[frames.length - 1];
      const startsHere = at >= carry.length && pesPts !== undefined;
      if (!startsHere && !previous) return { reason: "the first ADTS frame has no PTS" };
      frames.push({ pts: startsHere ? pesPts! : previous!.pts + previous!.duration, duration });
      if (startsHere) pesPts = undefined;
      at += frame.frameLength;
    }
    carry = data.subarray(at);
  }
  if (carry.length > 0) return { reason: `${carry.length} bytes of an incomplete ADTS frame at the end` };
  if (!header || frames.length === 0) return { reason: "no complete ADTS frame" };

  let firstPts = Infinity;
  let endPts = -Infinity;
  for (const frame of frames) {
    firstPts = Math.min(firstPts, frame.pts);
    endPts = Math.max(endPts, frame.pts + frame.duration);
  }
  const facts: SegmentFacts = {
    bytes: 0,
    packets: frames.length,
    firstPts: roundToMicroseconds(firstPts / TS_CLOCK),
    endPts: roundToMicroseconds(endPts / TS_CLOCK),
    startsWithKeyframe: true, // every AAC frame decodes on its own
    frameDuration: roundToMicroseconds(mostCommon(frames.map((frame) => frame.duration)) / TS_CLOCK),
    codec: `mp4a.40.${header.objectType}`,
    sampleRate: header.sampleRate,
  };
  if (header.channels) facts.channels = header.channels;
  return facts;
}
