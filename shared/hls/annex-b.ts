/** H.264 Annex-B byte streams: NAL units between start codes, and their escaped payloads. */

export interface NalUnit {
  /** nal_unit_type: 1 slice, 5 IDR slice, 6 SEI, 7 SPS, 8 PPS, 9 access unit delimiter. */
  type: number;
  /** The NAL unit including its one-byte header, still escaped (emulation prevention bytes kept). */
  data: Buffer;
}

export const NAL_TYPE = Object.freeze({ IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 });

const START_CODE = Buffer.from([0, 0, 1]);

/**
 * Splits an Annex-B byte stream at its 3- or 4-byte start codes. With `stopAt`, the walk ends at
 * the first unit whose type it accepts: that unit is returned with its header byte only, and the
 * bytes after it (a slice's data, most of an access unit) are never scanned.
 */
export function splitAnnexB(stream: Buffer, stopAt?: (type: number) => boolean): NalUnit[] {
  const units: NalUnit[] = [];
  let start = stream.indexOf(START_CODE);
  while (start >= 0 && start + 3 < stream.length) {
    const begin = start + 3;
    const type = stream[begin]! & 0x1f;
    if (stopAt?.(type)) {
      units.push({ type, data: stream.subarray(begin, begin + 1) });
      break;
    }
    const next = stream.indexOf(START_CODE, begin);
    let end = next < 0 ? stream.length : next;
    // Trailing zero bytes (and a 4-byte start code's first byte) belong to no NAL unit.
    while (end > begin && stream[end - 1] === 0) end--;
    if (end > begin) units.push({ type, data: stream.subarray(begin, end) });
    start = next;
  }
  return units;
}

const isSlice = (type: number) => type >= 1 && type <= NAL_TYPE.IDR;

/**
 * The NAL units of an access unit up to and including its first slice: the parameter sets and
 * SEI come first, and the first slice's type (IDR or not) is the picture's.
 */
export function leadingNalUnits(accessUnit: Buffer): NalUnit[] {
  return splitAnnexB(accessUnit, isSlice);
}

/** Removes emulation prevention bytes: every 0x03 that follows two zero bytes. */
export function unescapeRbsp(escaped: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of escaped) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}
