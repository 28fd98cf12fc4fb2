/**
 * The RFC 6381 codec string of an H.264 stream ("avc1.640028"), read from its sequence parameter
 * set: profile_idc, the constraint-flags byte and level_idc, two hex digits each. The master
 * playlist's CODECS must name the profile and level the encoder really wrote (x264 treats
 * `-profile:v` as a ceiling and `-level` as a hint), so the string comes from the bytes.
 */
import { NAL_TYPE, splitAnnexB, unescapeRbsp } from "./annex-b.ts";

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
