/**
 * A small MPEG-TS reader: Buffer in, timing facts out, no process and no I/O. It knows what an
 * HLS segment from ffmpeg holds: PAT -> PMT -> elementary streams, PES packets with 33-bit
 * 90 kHz PTS/DTS, H.264 access units (one per PES, as ffmpeg writes them) and AAC in ADTS
 * (several frames per PES). Everything else it reports as "fallback" so the caller can ask
 * ffmpeg instead (segment-facts.ts).
 *
 * The facts mean what ffmpeg's `-c copy -f framecrc` listing meant, with two deliberate
 * differences where ffmpeg truncates to whole 90 kHz ticks: a video frame lasts the most common
 * PTS step (23.976 fps: 3754 ticks, where ffmpeg says floor(3753.75) = 3753), and an AAC frame
 * lasts exactly samples / sample rate (44.1 kHz: 2089.8 ticks, ffmpeg 2089). At 25/30/50/60 fps
 * and 48 kHz the two agree exactly.
 */
import { h264CodecString, NAL_TYPE, unescapeRbsp, type NalUnit } from "./h264-codec-string.ts";
import type { SegmentFacts, SegmentKind } from "./segment-facts.ts";

export const TS_PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
const CLOCK = 90_000;
const WRAP = 2 ** 33;

export const H264_STREAM_TYPE = 0x1b;
export const AAC_ADTS_STREAM_TYPE = 0x0f;
/** PMT stream types that count as a video or an audio stream (the first one of the kind is read). */
const STREAM_TYPES: Record<SegmentKind, ReadonlySet<number>> = {
  video: new Set([0x01, 0x02, 0x10, H264_STREAM_TYPE, 0x24]),
  audio: new Set([0x03, 0x04, AAC_ADTS_STREAM_TYPE, 0x11, 0x81, 0x87]),
};

export interface TsStream {
  pid: number;
  /** The PMT stream_type (0x1b H.264, 0x24 HEVC, 0x0f AAC in ADTS, 0x03/0x04 MPEG audio, ...). */
  streamType: number;
}

export interface PesPacket {
  /** 90 kHz ticks as written (33 bits, not unwrapped); undefined when the header has none. */
  pts?: number;
  dts?: number;
  /** The adaptation field of the PES's first TS packet set random_access_indicator. */
  randomAccess: boolean;
  /** The elementary stream bytes, PES header removed. */
  payload: Buffer;
  /** Offset of the TS packet that starts this PES. */
  start: number;
  /** Offset just past the last TS packet that carries bytes of this PES. */
  end: number;
}

export interface TsScan {
  /** The stream `choose` picked from the PMT; undefined when there was no PMT or no such stream. */
  stream?: TsStream;
  /** That stream's PES packets, in file (decode) order. */
  pes: PesPacket[];
  /** Why the scan stopped before the end of the buffer, if it had to. */
  problem?: string;
}

/**
 * Walks the 188-byte packets, reads the first PAT and PMT, and collects the PES packets of the
 * one stream `choose` picks from the PMT (in PMT order). Stops after `limit` complete PES packets,
 * at the end of the buffer (a partial trailing packet is ignored), or at lost sync.
 */
export function scanTs(ts: Buffer, choose: (streams: TsStream[]) => TsStream | undefined, limit = Infinity): TsScan {
  const scan: TsScan = { pes: [] };
  let pmtPid: number | undefined;
  let current: { parts: Buffer[]; start: number; end: number; randomAccess: boolean } | undefined;

  const finish = (): boolean => {
    if (!current) return true;
    const pes = parsePes(Buffer.concat(current.parts), current);
    current = undefined;
    if (!pes) {
      scan.problem = "a PES packet without a valid header";
      return false;
    }
    scan.pes.push(pes);
    return scan.pes.length < limit;
  };

  for (let at = 0; at + TS_PACKET_SIZE <= ts.length; at += TS_PACKET_SIZE) {
    if (ts[at] !== SYNC_BYTE) {
      scan.problem = `lost sync at byte ${at}`;
      current = undefined; // a PES cut by lost sync is not trusted
      return scan;
    }
    const unitStart = (ts[at + 1]! & 0x40) !== 0;
    const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    const control = (ts[at + 3]! >> 4) & 0x3;
    let start = at + 4;
    let randomAccess = false;
    if (control & 0x2) {
      const length = ts[at + 4]!;
      if (length > 0) randomAccess = (ts[at + 5]! & 0x40) !== 0;
      start += 1 + length;
    }
    if (!(control & 0x1) || start >= at + TS_PACKET_SIZE) continue;
    const payload = ts.subarray(start, at + TS_PACKET_SIZE);

    if (pid === 0 && unitStart && pmtPid === undefined) {
      pmtPid = pmtPidFromPat(payload);
    } else if (pid === pmtPid && unitStart && scan.stream === undefined) {
      scan.stream = choose(streamsFromPmt(payload));
      if (!scan.stream) return scan;
    } else if (scan.stream && pid === scan.stream.pid) {
      if (unitStart) {
        if (!finish()) return scan;
        current = { parts: [payload], start: at, end: at + TS_PACKET_SIZE, randomAccess };
      } else if (current) {
        // Packets before the first unit start continue a PES from the previous segment: skipped.
        current.parts.push(payload);
        current.end = at + TS_PACKET_SIZE;
      }
    }
  }
  finish();
  return scan;
}

function parsePes(data: Buffer, where: { start: number; end: number; randomAccess: boolean }): PesPacket | undefined {
  if (data.length < 9 || data[0] !== 0 || data[1] !== 0 || data[2] !== 1) return undefined;
  const declared = (data[4]! << 8) | data[5]!;
  const flags = data[7]! >> 6;
  const headerEnd = 9 + data[8]!;
  if (headerEnd > data.length) return undefined;
  const pes: PesPacket = {
    randomAccess: where.randomAccess,
    // PES_packet_length 0 means "unbounded" (video); otherwise stuffing after it is not payload.
    payload: data.subarray(headerEnd, declared > 0 ? Math.min(data.length, 6 + declared) : data.length),
    start: where.start,
    end: where.end,
  };
  if (flags & 0x2 && headerEnd >= 14) pes.pts = readTimestamp(data, 9);
  if (flags === 0x3 && headerEnd >= 19) pes.dts = readTimestamp(data, 14);
  return pes;
}

/** A 33-bit PTS/DTS: 3 + 15 + 15 bits around marker bits. Arithmetic, not bit operators: > 2^31. */
function readTimestamp(data: Buffer, at: number): number {
  const high = (data[at]! >> 1) & 0x07;
  const middle = (data[at + 1]! << 7) | (data[at + 2]! >> 1);
  const low = (data[at + 3]! << 7) | (data[at + 4]! >> 1);
  return high * 2 ** 30 + middle * 2 ** 15 + low;
}

function pmtPidFromPat(payload: Buffer): number | undefined {
  const table = 1 + payload[0]!; // pointer_field
  if (payload[table] !== 0x00) return undefined;
  const sectionLength = ((payload[table + 1]! & 0x0f) << 8) | payload[table + 2]!;
  const end = Math.min(payload.length, table + 3 + sectionLength - 4);
  for (let at = table + 8; at + 4 <= end; at += 4) {
    const program = (payload[at]! << 8) | payload[at + 1]!;
    if (program !== 0) return ((payload[at + 2]! & 0x1f) << 8) | payload[at + 3]!;
  }
  return undefined;
}

function streamsFromPmt(payload: Buffer): TsStream[] {
  const table = 1 + payload[0]!;
  if (payload[table] !== 0x02 || table + 12 > payload.length) return [];
  const sectionLength = ((payload[table + 1]! & 0x0f) << 8) | payload[table + 2]!;
  const end = Math.min(payload.length, table + 3 + sectionLength - 4);
  const programInfoLength = ((payload[table + 10]! & 0x0f) << 8) | payload[table + 11]!;
  const streams: TsStream[] = [];
  for (let at = table + 12 + programInfoLength; at + 5 <= end; ) {
    const infoLength = ((payload[at + 3]! & 0x0f) << 8) | payload[at + 4]!;
    streams.push({ streamType: payload[at]!, pid: ((payload[at + 1]! & 0x1f) << 8) | payload[at + 2]! });
    at += 5 + infoLength;
  }
  return streams;
}

const firstOfKind = (kind: SegmentKind) => (streams: TsStream[]) => streams.find((stream) => STREAM_TYPES[kind].has(stream.streamType));

// ---------------------------------------------------------------------------------------------

export interface FirstAccessUnit {
  streamType: number;
  /** The first PES payload of the stream: one access unit (Annex-B for H.264), PES header removed. */
  payload: Buffer;
  /**
   * From byte 0 (so PAT and PMT are included and the range demuxes on its own) to the end of the
   * last TS packet that carries a byte of the first PES: what an I-frame playlist points at.
   */
  range: { offset: number; length: number };
}

/**
 * The first access unit of the first video (or audio) stream, reading no further than needed;
 * undefined when the buffer is not MPEG-TS, has no such stream, or loses sync before it ends.
 */
export function readFirstAccessUnit(ts: Buffer, kind: SegmentKind = "video"): FirstAccessUnit | undefined {
  return firstAccessUnitOf(scanTs(ts, firstOfKind(kind), 1));
}

function firstAccessUnitOf(scan: TsScan): FirstAccessUnit | undefined {
  const first = scan.pes[0];
  if (!scan.stream || !first) return undefined;
  return { streamType: scan.stream.streamType, payload: first.payload, range: { offset: 0, length: first.end } };
}

/** The first video access unit: its SPS, whether it is an IDR, and its byte range. */
export function readFirstVideoAccessUnit(ts: Buffer): FirstAccessUnit | undefined {
  return readFirstAccessUnit(ts, "video");
}

/**
 * readFirstVideoAccessUnit for the first bytes of a longer segment: "need-more" while those bytes
 * end before the first access unit is known to be whole (the next one has not started yet).
 */
export function readFirstVideoAccessUnitOfPrefix(prefix: Buffer): FirstAccessUnit | undefined | "need-more" {
  const scan = scanTs(prefix, firstOfKind("video"), 2);
  if (scan.pes.length === 2) return firstAccessUnitOf(scan);
  return scan.problem ? undefined : "need-more";
}

// ---------------------------------------------------------------------------------------------

export type TsSegmentResult =
  | { outcome: "measured"; facts: SegmentFacts }
  /** Valid MPEG-TS without a stream of the kind asked for. */
  | { outcome: "no-stream" }
  /** The stream is there but carries no PES packet. */
  | { outcome: "no-packets" }
  /** This reader cannot measure it (codec, broken packets, a timing it cannot derive): ask ffmpeg. */
  | { outcome: "fallback"; reason: string };

export function looksLikeTs(data: Buffer): boolean {
  return data.length >= TS_PACKET_SIZE && data[0] === SYNC_BYTE && (data.length === TS_PACKET_SIZE || data[TS_PACKET_SIZE] === SYNC_BYTE);
}

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
  const pts = pes.map((unit) => unwrap(unit.pts!, reference)).sort((a, b) => a - b);
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
  const frameDuration = steps.length > 0 ? mostCommon(steps) / CLOCK : sps?.frameDuration;
  if (frameDuration === undefined) return { reason: "one frame and no VUI timing: frame duration unknown" };

  const facts: SegmentFacts = {
    bytes: 0,
    packets: pes.length,
    firstPts: roundToMicroseconds(pts[0]! / CLOCK),
    endPts: roundToMicroseconds(pts[pts.length - 1]! / CLOCK + frameDuration),
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

/** Keyframe as ffmpeg's H.264 parser flags one: an IDR slice, or a recovery point SEI (open GOP). */
function isKeyframe(units: NalUnit[]): boolean {
  return units.some((nal) => nal.type === NAL_TYPE.IDR || (nal.type === NAL_TYPE.SEI && hasRecoveryPoint(nal.data)));
}

const START_CODE = Buffer.from([0, 0, 1]);

/**
 * The NAL units of an Annex-B access unit up to and including its first slice: the parameter
 * sets and SEI come first, and the first slice's type (IDR or not) is the picture's. The slice
 * data itself, most of the bytes, is not scanned; the slice unit's `data` is its header byte only.
 */
export function leadingNalUnits(accessUnit: Buffer): NalUnit[] {
  const units: NalUnit[] = [];
  let start = accessUnit.indexOf(START_CODE);
  while (start >= 0 && start + 3 < accessUnit.length) {
    const begin = start + 3;
    const type = accessUnit[begin]! & 0x1f;
    if (type >= 1 && type <= NAL_TYPE.IDR) {
      units.push({ type, data: accessUnit.subarray(begin, begin + 1) });
      break;
    }
    const next = accessUnit.indexOf(START_CODE, begin);
    let end = next < 0 ? accessUnit.length : next;
    while (end > begin && accessUnit[end - 1] === 0) end--; // trailing zeros and a 4-byte start code's first byte
    if (end > begin) units.push({ type, data: accessUnit.subarray(begin, end) });
    start = next;
  }
  return units;
}

/** Whether an SEI NAL unit carries a recovery point message (payloadType 6). */
function hasRecoveryPoint(sei: Buffer): boolean {
  const rbsp = unescapeRbsp(sei.subarray(1));
  let at = 0;
  while (at < rbsp.length && rbsp[at] !== 0x80) {
    let type = 0;
    while (rbsp[at] === 0xff) [type, at] = [type + 255, at + 1];
    type += rbsp[at++] ?? 0;
    let size = 0;
    while (rbsp[at] === 0xff) [size, at] = [size + 255, at + 1];
    size += rbsp[at++] ?? 0;
    if (type === 6) return true;
    at += size;
  }
  return false;
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
    let pesPts: number | undefined = unwrap(unit.pts!, reference);
    let at = 0;
    while (at + 7 <= data.length) {
      const frame = parseAdtsHeader(data, at);
      if (!frame) return { reason: `no ADTS sync word at byte ${at} of a PES payload` };
      if (at + frame.frameLength > data.length) break;
      header ??= frame;
      const duration = (frame.samples * CLOCK) / frame.sampleRate;
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
    firstPts: roundToMicroseconds(firstPts / CLOCK),
    endPts: roundToMicroseconds(endPts / CLOCK),
    startsWithKeyframe: true, // every AAC frame decodes on its own
    frameDuration: roundToMicroseconds(mostCommon(frames.map((frame) => frame.duration)) / CLOCK),
    codec: `mp4a.40.${header.objectType}`,
    sampleRate: header.sampleRate,
  };
  if (header.channels) facts.channels = header.channels;
  return facts;
}

/** A timestamp moved by 2^33 when that brings it nearer the segment's first one (wrap-around). */
function unwrap(ticks: number, reference: number): number {
  if (ticks - reference > WRAP / 2) return ticks - WRAP;
  if (reference - ticks > WRAP / 2) return ticks + WRAP;
  return ticks;
}

// ---------------------------------------------------------------------------------------------

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface AdtsHeader {
  /** MPEG-4 audio object type: profile + 1 (2 = AAC LC). */
  objectType: number;
  sampleRate: number;
  /** channel_configuration; 0 means "in the bitstream" (not read here). */
  channels: number;
  /** The whole frame, header included. */
  frameLength: number;
  /** 1024 per raw data block. */
  samples: number;
}

export function parseAdtsHeader(data: Buffer, at = 0): AdtsHeader | undefined {
  if (at + 7 > data.length || data[at] !== 0xff || (data[at + 1]! & 0xf6) !== 0xf0) return undefined;
  const sampleRate = AAC_SAMPLE_RATES[(data[at + 2]! >> 2) & 0xf];
  const frameLength = ((data[at + 3]! & 0x03) << 11) | (data[at + 4]! << 3) | (data[at + 5]! >> 5);
  if (!sampleRate || frameLength < 7) return undefined;
  return {
    objectType: ((data[at + 2]! >> 6) & 0x3) + 1,
    sampleRate,
    channels: ((data[at + 2]! & 0x1) << 2) | (data[at + 3]! >> 6),
    frameLength,
    samples: 1024 * ((data[at + 6]! & 0x3) + 1),
  };
}

/**
 * RFC 6381 codec string of a TS audio stream from its PMT stream type and first PES payload.
 * AAC in ADTS names its object type (2 = LC); HE-AAC signalled implicitly (SBR inside an "LC"
 * ADTS stream) reads as mp4a.40.2, which is what vodpipe never produces anyway.
 */
export function audioCodecFromTs(streamType: number, payload: Buffer): { codec?: string; channels?: number; sampleRate?: number } | undefined {
  if (streamType === AAC_ADTS_STREAM_TYPE) {
    const header = parseAdtsHeader(payload);
    if (!header) return undefined;
    return { codec: `mp4a.40.${header.objectType}`, sampleRate: header.sampleRate, ...(header.channels ? { channels: header.channels } : {}) };
  }
  if (streamType === 0x03 || streamType === 0x04) return { codec: "mp4a.40.34" };
  if (streamType === 0x81) return { codec: "ac-3" };
  if (streamType === 0x87) return { codec: "ec-3" };
  return undefined;
}

// ---------------------------------------------------------------------------------------------

export interface SpsInfo {
  /** The displayed size: coded macroblocks minus the cropping window. */
  width: number;
  height: number;
  /** Seconds per frame from the VUI timing info (2 * num_units_in_tick / time_scale), if present. */
  frameDuration?: number;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Reads the picture size (and frame timing) from an SPS NAL unit, header byte included. */
export function parseSps(sps: Buffer): SpsInfo {
  if ((sps[0]! & 0x1f) !== NAL_TYPE.SPS) throw new Error("not an H.264 SPS NAL unit");
  const bits = new BitReader(unescapeRbsp(sps.subarray(1)));
  const profileIdc = bits.u(8);
  bits.u(16); // constraint flags, level_idc
  bits.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlanes = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = bits.ue();
    if (chromaFormatIdc === 3) separateColourPlanes = bits.u(1) === 1;
    bits.ue(); // bit_depth_luma_minus8
    bits.ue(); // bit_depth_chroma_minus8
    bits.u(1); // qpprime_y_zero_transform_bypass_flag
    if (bits.u(1)) {
      for (let list = 0; list < (chromaFormatIdc === 3 ? 12 : 8); list++) {
        if (bits.u(1)) skipScalingList(bits, list < 6 ? 16 : 64);
      }
    }
  }
  bits.ue(); // log2_max_frame_num_minus4
  const pocType = bits.ue();
  if (pocType === 0) {
    bits.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    bits.u(1); // delta_pic_order_always_zero_flag
    bits.se(); // offset_for_non_ref_pic
    bits.se(); // offset_for_top_to_bottom_field
    const cycle = bits.ue();
    for (let i = 0; i < cycle; i++) bits.se();
  }
  bits.ue(); // max_num_ref_frames
  bits.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = bits.ue() + 1;
  const heightInMapUnits = bits.ue() + 1;
  const frameMbsOnly = bits.u(1);
  if (!frameMbsOnly) bits.u(1); // mb_adaptive_frame_field_flag
  bits.u(1); // direct_8x8_inference_flag
  const crop = bits.u(1) ? { left: bits.ue(), right: bits.ue(), top: bits.ue(), bottom: bits.ue() } : { left: 0, right: 0, top: 0, bottom: 0 };

  const chromaArrayType = separateColourPlanes ? 0 : chromaFormatIdc;
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeight = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidth;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeight) * (2 - frameMbsOnly);
  const info: SpsInfo = {
    width: widthInMbs * 16 - cropUnitX * (crop.left + crop.right),
    height: (2 - frameMbsOnly) * heightInMapUnits * 16 - cropUnitY * (crop.top + crop.bottom),
  };
  if (bits.u(1)) {
    const timing = readVuiTiming(bits);
    if (timing) info.frameDuration = (2 * timing.unitsInTick) / timing.timeScale;
  }
  return info;
}

function readVuiTiming(bits: BitReader): { unitsInTick: number; timeScale: number } | undefined {
  if (bits.u(1) && bits.u(8) === 255) bits.u(32); // aspect_ratio_idc Extended_SAR: sar_width, sar_height
  if (bits.u(1)) bits.u(1); // overscan_appropriate_flag
  if (bits.u(1)) {
    bits.u(4); // video_format, video_full_range_flag
    if (bits.u(1)) bits.u(24); // colour_primaries, transfer_characteristics, matrix_coefficients
  }
  if (bits.u(1)) {
    bits.ue(); // chroma_sample_loc_type_top_field
    bits.ue(); // chroma_sample_loc_type_bottom_field
  }
  if (!bits.u(1)) return undefined;
  const unitsInTick = bits.u(32);
  const timeScale = bits.u(32);
  return unitsInTick > 0 && timeScale > 0 ? { unitsInTick, timeScale } : undefined;
}

function skipScalingList(bits: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + bits.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Big-endian bit reader with Exp-Golomb codes over an RBSP (emulation prevention removed). */
class BitReader {
  private position = 0;
  constructor(private readonly data: Buffer) {}

  u(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.data[this.position >> 3];
      if (byte === undefined) throw new Error("SPS ends early");
      value = value * 2 + ((byte >> (7 - (this.position & 7))) & 1);
      this.position++;
    }
    return value;
  }

  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new Error("Exp-Golomb code too long");
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -code / 2;
  }
}

// ---------------------------------------------------------------------------------------------

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
