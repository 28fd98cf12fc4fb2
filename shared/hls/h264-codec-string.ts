/**
 * The RFC 6381 codec string of an H.264 stream ("avc1.640028"), read from its sequence parameter
 * set: profile_idc, the constraint-flags byte and level_idc, two hex digits each. The master
 * playlist's CODECS must name the profile and level the encoder really wrote (x264 treats
 * `-profile:v` as a ceiling and `-level` as a hint), so the string comes from the bytes.
 */

export interface NalUnit {
  /** nal_unit_type: 1 slice, 5 IDR slice, 6 SEI, 7 SPS, 8 PPS, 9 access unit delimiter. */
  type: number;
  /** The NAL unit including its one-byte header, still escaped (emulation prevention bytes kept). */
  data: Buffer;
}

export const NAL_TYPE = Object.freeze({ IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 });

/** Splits an Annex-B byte stream at its 3- or 4-byte start codes. */
export function splitAnnexB(stream: Buffer): NalUnit[] {
  const starts: { at: number; payload: number }[] = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push({ at: i > 0 && stream[i - 1] === 0 ? i - 1 : i, payload: i + 3 });
      i += 2;
    }
  }
  const units: NalUnit[] = [];
  starts.forEach((start, index) => {
    let end = starts[index + 1]?.at ?? stream.length;
    // Trailing zero bytes before the next start code belong to no NAL unit.
    while (end > start.payload && stream[end - 1] === 0) end--;
    if (end <= start.payload) return;
    const data = stream.subarray(start.payload, end);
    units.push({ type: data[0]! & 0x1f, data });
  });
  return units;
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

export interface AvcProfileLevel {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
}

/** profile_idc, constraint flags and level_idc of one SPS NAL unit (header byte included). */
export function parseSpsProfileLevel(sps: Buffer): AvcProfileLevel {
  if (sps.length < 4 || (sps[0]! & 0x1f) !== NAL_TYPE.SPS) throw new Error("not an H.264 SPS NAL unit");
  const rbsp = unescapeRbsp(sps.subarray(1, Math.min(sps.length, 16)));
  if (rbsp.length < 3) throw new Error("H.264 SPS too short");
  return { profileIdc: rbsp[0]!, constraintFlags: rbsp[1]!, levelIdc: rbsp[2]! };
}

export function avcCodecString({ profileIdc, constraintFlags, levelIdc }: AvcProfileLevel): string {
  const hex = (value: number) => value.toString(16).toUpperCase().padStart(2, "0");
  return `avc1.${hex(profileIdc)}${hex(constraintFlags)}${hex(levelIdc)}`;
}

/** The codec string of the first SPS in an Annex-B stream, or undefined when it has none. */
export function h264CodecString(annexB: Buffer): string | undefined {
  const sps = splitAnnexB(annexB).find((unit) => unit.type === NAL_TYPE.SPS);
  return sps ? avcCodecString(parseSpsProfileLevel(sps.data)) : undefined;
}

/** Two codec strings name the same thing: the hex digits are case-insensitive. */
export function sameCodec(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
