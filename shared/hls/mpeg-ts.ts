/**
 * A small MPEG-TS demuxer: Buffer in, PES packets out, no process and no I/O. It knows what an
 * HLS segment from ffmpeg holds: PAT -> PMT -> elementary streams, PES packets with 33-bit
 * 90 kHz PTS/DTS. What the packets carry is read by the format's own module (h264.ts, adts.ts).
 */

export const TS_PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
/** PTS/DTS ticks per second. */
export const TS_CLOCK = 90_000;
const WRAP = 2 ** 33;

export const H264_STREAM_TYPE = 0x1b;
export const AAC_ADTS_STREAM_TYPE = 0x0f;

export type StreamKind = "video" | "audio";

/** PMT stream types that count as a video or an audio stream (the first one of the kind is read). */
const STREAM_TYPES: Record<StreamKind, ReadonlySet<number>> = {
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

/** Picks the first stream of a kind from the PMT's list, as scanTs's `choose`. */
export const firstOfKind = (kind: StreamKind) => (streams: TsStream[]) => streams.find((stream) => STREAM_TYPES[kind].has(stream.streamType));

export function looksLikeTs(data: Buffer): boolean {
  return data.length >= TS_PACKET_SIZE && data[0] === SYNC_BYTE && (data.length === TS_PACKET_SIZE || data[TS_PACKET_SIZE] === SYNC_BYTE);
}

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
export function readFirstAccessUnit(ts: Buffer, kind: StreamKind = "video"): FirstAccessUnit | undefined {
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

/** A timestamp moved by 2^33 when that brings it nearer the segment's first one (wrap-around). */
export function unwrapTimestamp(ticks: number, reference: number): number {
  if (ticks - reference > WRAP / 2) return ticks - WRAP;
  if (reference - ticks > WRAP / 2) return ticks + WRAP;
  return ticks;
}
