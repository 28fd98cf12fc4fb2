/**
 * H.264 parameter sets and SEI, as far as segment checks need them: the picture size and frame
 * timing from the SPS, and whether an access unit is a keyframe the way ffmpeg's parser flags one.
 */
import { NAL_TYPE, unescapeRbsp, type NalUnit } from "./annex-b.ts";

/** Keyframe as ffmpeg's H.264 parser flags one: an IDR slice, or a recovery point SEI (open GOP). */
export function isKeyframe(units: NalUnit[]): boolean {
  return units.some((nal) => nal.type === NAL_TYPE.IDR || (nal.type === NAL_TYPE.SEI && hasRecoveryPoint(nal.data)));
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
