import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leadingNalUnits } from "../../shared/hls/annex-b.ts";
import { parseSps } from "../../shared/hls/h264.ts";
import { gatherSegmentFacts, gatherSegmentFactsWithFfmpeg } from "../../shared/hls/measure-segment.ts";
import { readFirstAccessUnit, scanTs } from "../../shared/hls/mpeg-ts.ts";
import type { SegmentFacts } from "../../shared/hls/segment-facts.ts";
import { measureTsSegment } from "../../shared/hls/ts-segment-facts.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { mediaFile, standIn } from "../support/media.ts";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");
const fill = (length: number, byte: number) => Array.from({ length }, () => byte);

/**
 * One 188-byte TS packet. A payload shorter than 184 bytes is padded the way muxers do it, with
 * adaptation-field stuffing; `randomAccess` sets random_access_indicator in that field.
 */
function tsPacket(pid: number, payload: Buffer, options: { start?: boolean; randomAccess?: boolean } = {}): Buffer {
  const room = 184 - payload.length;
  if (room < 0 || (options.randomAccess && room < 2)) throw new Error(`payload too long: ${payload.length}`);
  const header = [0x47, (options.start ? 0x40 : 0) | (pid >> 8), pid & 0xff, room > 0 ? 0x30 : 0x10];
  const adaptation = room === 0 ? [] : room === 1 ? [0] : [room - 1, options.randomAccess ? 0x40 : 0x00, ...fill(room - 2, 0xff)];
  return Buffer.from([...header, ...adaptation, ...payload]);
}

/** A PSI section (PAT, PMT) in one packet, padded with 0xFF as PSI is. The CRC is not checked. */
const psiPacket = (pid: number, section: Buffer) => tsPacket(pid, Buffer.concat([section, Buffer.alloc(184 - section.length, 0xff)]), { start: true });

/** A 33-bit timestamp in its 5 PES bytes: 4-bit prefix, then 3 + 15 + 15 bits with marker bits. */
function timestamp(prefix: number, ticks: number): number[] {
  const middle = Math.floor(ticks / 2 ** 15) % 2 ** 15;
  const low = ticks % 2 ** 15;
  return [(prefix << 4) | ((Math.floor(ticks / 2 ** 30) & 0x7) << 1) | 1, middle >> 7, ((middle & 0x7f) << 1) | 1, low >> 7, ((low & 0x7f) << 1) | 1];
}

/** A PES packet cut into TS packets. Video PES packets are unbounded (length 0), as ffmpeg writes them. */
function pes(pid: number, streamId: number, time: { pts: number; dts?: number }, es: Buffer, randomAccess = false): Buffer[] {
  const optional = time.dts === undefined ? [0x80, 0x80, 5, ...timestamp(2, time.pts)] : [0x80, 0xc0, 10, ...timestamp(3, time.pts), ...timestamp(1, time.dts)];
  const length = streamId >= 0xe0 ? 0 : optional.length + es.length;
  const data = Buffer.concat([Buffer.from([0, 0, 1, streamId, length >> 8, length & 0xff, ...optional]), es]);
  const packets: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const first = at === 0;
    const chunk = data.subarray(at, at + (first && randomAccess ? 182 : 184));
    packets.push(tsPacket(pid, chunk, { start: first, randomAccess: first && randomAccess }));
    at += chunk.length;
  }
  return packets;
}

// PAT: program 1 -> PMT on PID 0x1000.
const PAT = psiPacket(0x0000, hex("00 00b00d 0001 c1 00 00 0001 f000 deadbeef"));
// PMT: H.264 (0x1B) on PID 0x100, then AAC in ADTS (0x0F) on PID 0x101.
const PMT = psiPacket(0x1000, hex("00 02b017 0001 c1 00 00 e100 f000 1be100f000 0fe101f000 deadbeef"));
// PMT: H.264 on 0x100 and MPEG-1 audio (0x03) on 0x101.
const PMT_MP3 = psiPacket(0x1000, hex("00 02b017 0001 c1 00 00 e100 f000 1be100f000 03e101f000 deadbeef"));
// PMT: H.264 on 0x100 only.
const PMT_VIDEO = psiPacket(0x1000, hex("00 02b012 0001 c1 00 00 e100 f000 1be100f000 deadbeef"));

// x264 output of androidx_sample.avi (Constrained Baseline 3.0, 864x360, VUI timing 1001/48000).
const SPS_864x360 = hex("00000001 6742c01e da0360bf e5c04400 000fa400 02ee003c 58ba80");
const PPS = hex("00000001 68ce3c80");
const AUD_I = hex("00000001 09f0");
const AUD_PB = hex("00000001 0930");
const IDR_SLICE = Buffer.concat([hex("000001 65888400"), Buffer.alloc(300, 0xab)]);
const P_SLICE = hex("000001 419a2244 5566");
const B_SLICE = hex("000001 019e1122 3344");
// SEI with one recovery point message (payloadType 6, size 1), then rbsp trailing bits.
const SEI_RECOVERY = hex("000001 06 06 01 c4 80");
const I_SLICE_NOT_IDR = hex("000001 41 88 84 00 21");

const VIDEO = 0x100;
const AUDIO = 0x101;
const FRAME = 3003; // 29.97 fps in 90 kHz ticks

/** Four frames in decode order I P B B, with B-frame reordering: pts != dts. */
function videoSegment(base: number, first: Buffer = Buffer.concat([AUD_I, SPS_864x360, PPS, IDR_SLICE])): Buffer {
  const wrap = (ticks: number) => ticks % 2 ** 33;
  return Buffer.concat([
    PAT,
    PMT,
    ...pes(VIDEO, 0xe0, { pts: wrap(base + FRAME), dts: wrap(base) }, first, true),
    ...pes(AUDIO, 0xc0, { pts: wrap(base) }, adts(20)), // an audio packet between two video frames
    ...pes(VIDEO, 0xe0, { pts: wrap(base + 4 * FRAME), dts: wrap(base + FRAME) }, Buffer.concat([AUD_PB, P_SLICE])),
    ...pes(VIDEO, 0xe0, { pts: wrap(base + 2 * FRAME), dts: wrap(base + 2 * FRAME) }, Buffer.concat([AUD_PB, B_SLICE])),
    ...pes(VIDEO, 0xe0, { pts: wrap(base + 3 * FRAME), dts: wrap(base + 3 * FRAME) }, Buffer.concat([AUD_PB, B_SLICE])),
  ]);
}

/** One ADTS frame of `length` bytes: AAC LC, stereo, `rateIndex` 3 = 48 kHz, 4 = 44.1 kHz. */
function adts(length: number, rateIndex = 3, fillByte = 0x21): Buffer {
  const header = [0xff, 0xf1, 0x40 | (rateIndex << 2), 0x80 | (length >> 11), (length >> 3) & 0xff, ((length & 0x7) << 5) | 0x1f, 0xfc];
  return Buffer.from([...header, ...fill(length - 7, fillByte)]);
}

describe("readFirstAccessUnit", () => {
  // The first frame spread over three packets: a PCR in the first one, an audio packet in between,
  // adaptation-field stuffing in the last one.
  const PCR_ADAPTATION = [0x07, 0x50, 0x00, 0x00, 0x7b, 0x0c, 0x7e, 0x00];
  const HEADER = [0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x80, 0x05, 0x21, 0x00, 0x07, 0xd8, 0x61];
  const ES1 = [0x00, 0x00, 0x00, 0x01, 0x09, 0xf0, 0x00, 0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x1f, ...fill(188 - 4 - 8 - 14 - 14, 0xa1)];
  const ES2 = fill(184, 0xb2);
  const ES3 = fill(83, 0xc3);
  const raw = (pid: number, control: number, start: boolean, bytes: number[]) =>
    Buffer.from([0x47, (start ? 0x40 : 0) | (pid >> 8), pid & 0xff, control << 4, ...bytes]);
  const FRAME_1_START = raw(VIDEO, 3, true, [...PCR_ADAPTATION, ...HEADER, ...ES1]);
  const FRAME_1_MIDDLE = raw(VIDEO, 1, false, ES2);
  const AUDIO_PACKET = raw(AUDIO, 1, true, [0x00, 0x00, 0x01, 0xc0, ...fill(180, 0x5a)]);
  const FRAME_1_END = raw(VIDEO, 3, false, [100, 0x00, ...fill(99, 0xff), ...ES3]);
  const FRAME_2_START = raw(VIDEO, 1, true, [...HEADER, 0x00, 0x00, 0x00, 0x01, 0x09, 0x30, ...fill(164, 0xd4)]);

  it("returns the first PES payload and the bytes from 0 through its last TS packet", () => {
    const segment = Buffer.concat([PAT, PMT, FRAME_1_START, FRAME_1_MIDDLE, AUDIO_PACKET, FRAME_1_END, FRAME_2_START, FRAME_1_MIDDLE]);
    const unit = readFirstAccessUnit(segment, "video");
    expect(unit?.streamType).toBe(0x1b);
    expect(unit?.range).toEqual({ offset: 0, length: 1128 });
    expect(unit?.payload).toEqual(Buffer.from([...ES1, ...ES2, ...ES3]));
  });

  it("ends the range at the first frame's last packet, not at the next frame's first one", () => {
    const segment = videoSegment(900_000);
    // PAT, PMT, the I-frame's three packets; the audio packet after it is not part of the range.
    expect(readFirstAccessUnit(segment, "video")?.range).toEqual({ offset: 0, length: 5 * 188 });
    expect(readFirstAccessUnit(segment, "audio")?.payload).toEqual(adts(20));
  });

  it("takes everything when the segment holds a single frame, ignoring a partial trailing packet", () => {
    const unit = readFirstAccessUnit(Buffer.concat([PAT, PMT, FRAME_1_START, FRAME_1_MIDDLE, Buffer.alloc(50, 0x47)]), "video");
    expect(unit?.range).toEqual({ offset: 0, length: 752 });
    expect(unit?.payload).toEqual(Buffer.from([...ES1, ...ES2]));
  });

  it("finds the video PID through the PMT, past program descriptors", () => {
    // PMT with a 6-byte registration descriptor "HDMV"; video on PID 0x44. PID 0x100 is not video here.
    const pmt = psiPacket(0x1000, hex("00 02b018 0001 c1 00 00 e044 f006 05044844 4d56 1be044f000 deadbeef"));
    const decoy = raw(0x100, 1, true, [...HEADER, ...fill(170, 0xee)]);
    const first = raw(0x44, 1, true, [...HEADER, ...fill(170, 0x11)]);
    const second = raw(0x44, 1, true, [...HEADER, ...fill(170, 0x22)]);
    const unit = readFirstAccessUnit(Buffer.concat([PAT, pmt, decoy, first, decoy, second]), "video");
    expect(unit?.range).toEqual({ offset: 0, length: 752 });
    expect(unit?.payload).toEqual(Buffer.from(fill(170, 0x11)));
  });

  it("gives up when sync is lost before the first frame ends", () => {
    expect(readFirstAccessUnit(Buffer.concat([PAT, PMT, FRAME_1_START, Buffer.alloc(188, 0x00), FRAME_2_START]), "video")).toBeUndefined();
  });
});

describe("parseSps", () => {
  it("reads the cropped size and the VUI frame timing", () => {
    expect(parseSps(SPS_864x360.subarray(4))).toEqual({ width: 864, height: 360, frameDuration: (2 * 1001) / 48_000 });
    // x264 High 4:2:2 (chroma_format_idc 2), 864x480 coded, cropped to 854x480; 25 fps.
    expect(parseSps(hex("677a001ebcb406c1ef37ff80a000d5b702020540000003004000000c83c58ba8"))).toEqual({ width: 854, height: 480, frameDuration: 0.04 });
    // x264 High 4:2:2, 1920x1088 coded, 8 lines cropped.
    expect(parseSps(hex("677a0028bcb403c0113f13ff800180023702020540000003004000000c83c60ca8"))).toEqual({ width: 1920, height: 1080, frameDuration: 0.04 });
  });

  it("reads a minimal SPS without VUI", () => {
    // Baseline: sps_id 0, poc type 2, 20x15 macroblocks, no cropping, no VUI.
    expect(parseSps(hex("6742c01e da0507e4"))).toEqual({ width: 320, height: 240 });
  });

  it("refuses what is not an SPS, or ends early", () => {
    expect(() => parseSps(hex("68ce3c80"))).toThrow(/not an H.264 SPS/);
    expect(() => parseSps(hex("6742c01e da"))).toThrow(/ends early/);
  });
});

describe("leadingNalUnits", () => {
  it("lists the NAL units up to the first slice and does not scan the slice data", () => {
    const units = leadingNalUnits(Buffer.concat([AUD_I, SPS_864x360, PPS, SEI_RECOVERY, IDR_SLICE, P_SLICE]));
    expect(units.map((unit) => [unit.type, unit.data.length])).toEqual([
      [9, 2],
      [7, 23],
      [8, 4],
      [6, 5],
      [5, 1],
    ]);
  });
});

describe("measureTsSegment: video", () => {
  it("measures timing in presentation order, the keyframe, codec, size and I-frame range", () => {
    const segment = videoSegment(900_000);
    expect(measureTsSegment(segment, "video")).toEqual({
      outcome: "measured",
      facts: {
        bytes: segment.length,
        packets: 4,
        firstPts: 10.033367, // 903003 / 90000: the I-frame is presented after its decode time
        endPts: 10.166833, // the last presented frame (P, 912012) plus one frame of 3003 ticks
        startsWithKeyframe: true,
        startsWithIdr: true,
        frameDuration: 0.033367,
        codec: "avc1.42C01E",
        width: 864,
        height: 360,
        iframe: { offset: 0, length: 940 },
      },
    });
  });

  it("reads PTS, DTS and random_access_indicator per PES, in decode order", () => {
    const scan = scanTs(videoSegment(900_000), (streams) => streams.find((stream) => stream.streamType === 0x1b));
    expect(scan.stream).toEqual({ pid: VIDEO, streamType: 0x1b });
    expect(scan.pes.map((unit) => [unit.pts, unit.dts, unit.randomAccess])).toEqual([
      [903003, 900000, true],
      [912012, 903003, false],
      [906006, 906006, false],
      [909009, 909009, false],
    ]);
  });

  it("keeps counting through a PTS wrap at 2^33 inside the segment", () => {
    const facts = measureTsSegment(videoSegment(2 ** 33 - 2 * FRAME), "video");
    // I at 2^33 - 3003; the B, B and P frames wrapped to 0, 3003 and 6006.
    expect(facts).toMatchObject({ outcome: "measured", facts: { packets: 4, firstPts: 95443.684322, endPts: 95443.817789, frameDuration: 0.033367 } });
  });

  it("tells a non-IDR start from an IDR one, and counts a recovery point SEI as a keyframe", () => {
    const openGop = measureTsSegment(videoSegment(900_000, Buffer.concat([AUD_I, SPS_864x360, PPS, SEI_RECOVERY, I_SLICE_NOT_IDR])), "video");
    expect(openGop).toMatchObject({ outcome: "measured", facts: { startsWithKeyframe: true, startsWithIdr: false } });
    const noKeyframe = measureTsSegment(videoSegment(900_000, Buffer.concat([AUD_PB, SPS_864x360, PPS, P_SLICE])), "video");
    expect(noKeyframe).toMatchObject({ outcome: "measured", facts: { startsWithKeyframe: false, startsWithIdr: false, codec: "avc1.42C01E" } });
  });

  it("takes a one-frame segment's duration from the SPS timing, and declines without one", () => {
    const one = (sps: Buffer) => Buffer.concat([PAT, PMT, ...pes(VIDEO, 0xe0, { pts: 900_000 }, Buffer.concat([AUD_I, sps, PPS, IDR_SLICE]), true)]);
    expect(measureTsSegment(one(SPS_864x360), "video")).toMatchObject({
      outcome: "measured",
      facts: { packets: 1, firstPts: 10, endPts: 10.041708, frameDuration: 0.041708 },
    });
    expect(measureTsSegment(one(hex("00000001 6742c01e da0507e4")), "video")).toEqual({
      outcome: "fallback",
      reason: "one frame and no VUI timing: frame duration unknown",
    });
  });

  it("says which segments it cannot measure, and why", () => {
    expect(measureTsSegment(Buffer.from("#EXTM3U\n"), "video")).toEqual({ outcome: "fallback", reason: "not MPEG-TS" });
    const segment = videoSegment(900_000);
    const broken = Buffer.concat([segment.subarray(0, 5 * 188), Buffer.alloc(188, 0), segment.subarray(5 * 188)]);
    expect(measureTsSegment(broken, "video")).toEqual({ outcome: "fallback", reason: "lost sync at byte 940" });
    // HEVC (0x24) is a video stream, but not one this reader measures.
    const hevcPmt = psiPacket(0x1000, hex("00 02b012 0001 c1 00 00 e100 f000 24e100f000 deadbeef"));
    expect(measureTsSegment(Buffer.concat([PAT, hevcPmt, segment.subarray(2 * 188)]), "video")).toEqual({
      outcome: "fallback",
      reason: "video stream type 0x24 is not H.264",
    });
    expect(measureTsSegment(Buffer.concat([PAT, PMT_VIDEO]), "video")).toEqual({ outcome: "no-packets" });
  });
});

describe("measureTsSegment: audio", () => {
  it("counts every ADTS frame of a PES, also one that straddles two PES packets", () => {
    const frames = [adts(30), adts(31), adts(32), adts(33), adts(34), adts(35)];
    const straddling = Buffer.concat([frames[3]!, frames[4]!]);
    const segment = Buffer.concat([
      PAT,
      PMT,
      ...pes(AUDIO, 0xc0, { pts: 900_000 }, Buffer.concat(frames.slice(0, 3))),
      // Frame 4, then the first 10 bytes of frame 5; the PES's PTS is frame 4's.
      ...pes(AUDIO, 0xc0, { pts: 900_000 + 3 * 1920 }, straddling.subarray(0, 33 + 10)),
      // The rest of frame 5, then frame 6; this PES's PTS belongs to frame 6, the first to start in it.
      ...pes(AUDIO, 0xc0, { pts: 900_000 + 5 * 1920 }, Buffer.concat([straddling.subarray(33 + 10), frames[5]!])),
    ]);
    expect(measureTsSegment(segment, "audio")).toEqual({
      outcome: "measured",
      facts: {
        bytes: segment.length,
        packets: 6,
        firstPts: 10,
        endPts: 10.128, // (900000 + 6 x 1920) / 90000
        startsWithKeyframe: true,
        frameDuration: 0.021333,
        codec: "mp4a.40.2",
        sampleRate: 48_000,
        channels: 2,
      },
    });
  });

  it("gives a 44.1 kHz frame its exact 1024 / 44100 s", () => {
    const segment = Buffer.concat([PAT, PMT, ...pes(AUDIO, 0xc0, { pts: 900_000 }, Buffer.concat([adts(30, 4), adts(30, 4), adts(30, 4)]))]);
    expect(measureTsSegment(segment, "audio")).toMatchObject({
      outcome: "measured",
      facts: { packets: 3, firstPts: 10, endPts: 10.06966, frameDuration: 0.02322, sampleRate: 44_100 },
    });
  });

  it("reports no audio stream, other audio codecs, and ADTS it cannot follow", () => {
    expect(measureTsSegment(Buffer.concat([PAT, PMT_VIDEO, ...pes(VIDEO, 0xe0, { pts: 0 }, IDR_SLICE)]), "audio")).toEqual({ outcome: "no-stream" });
    const mp3 = Buffer.concat([PAT, PMT_MP3, ...pes(AUDIO, 0xc0, { pts: 0 }, hex("fffb9064 0000"))]);
    expect(measureTsSegment(mp3, "audio")).toEqual({ outcome: "fallback", reason: "audio stream type 0x3 is not AAC in ADTS" });
    const cut = Buffer.concat([PAT, PMT, ...pes(AUDIO, 0xc0, { pts: 0 }, Buffer.concat([adts(30), adts(30).subarray(0, 12)]))]);
    expect(measureTsSegment(cut, "audio")).toEqual({ outcome: "fallback", reason: "12 bytes of an incomplete ADTS frame at the end" });
    const garbage = Buffer.concat([PAT, PMT, ...pes(AUDIO, 0xc0, { pts: 0 }, Buffer.concat([adts(30), Buffer.alloc(20, 0x11)]))]);
    expect(measureTsSegment(garbage, "audio")).toEqual({ outcome: "fallback", reason: "no ADTS sync word at byte 30 of a PES payload" });
  });
});

/**
 * Real segments from the ffmpeg the app would use (libx264 preset medium, so B-frames reorder and
 * pts != dts; AAC), measured twice: by the JavaScript reader and by the ffmpeg framecrc path.
 */
describe("measureTsSegment against ffmpeg on real segments", () => {
  const FFMPEG = resolveFfmpegBinaries({ ffmpegPath: process.env.VODPIPE_FFMPEG_PATH }).ffmpeg;
  const run = promisify(execFile);
  let work: string;

  const hls = (folder: string, extra: string[] = []) => [
    ...extra,
    "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "mpegts",
    "-hls_segment_filename", join(work, folder, "seg-%03d.ts"), join(work, folder, "index.m3u8"),
  ];
  const x264 = (filter: string, gop: number) => [
    "-vf", filter, "-c:v", "libx264", "-preset", "medium", "-threads", "1", "-g", String(gop), "-sc_threshold", "0",
  ];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ts-reader-"));
    for (const folder of ["v25-422", "v2997", "a48k", "v23976", "a44k"]) await mkdir(join(work, folder));
    await run(FFMPEG, [
      "-nostdin", "-hide_banner", "-loglevel", "error",
      "-i", await standIn("mjpeg-422-mp2.mov"),
      "-i", mediaFile("androidx_sample.avi"),
      // 25 fps, High 4:2:2 (the MJPEG stand-in is yuvj422p), 240x180 coded as 240x192 and cropped.
      "-map", "0:v:0", "-t", "5", ...hls("v25-422", x264("scale=240:180", 50)),
      // 29.97 fps (3003 ticks), 4:2:0, 426 wide: coded 432, cropped.
      "-map", "0:v:0", "-t", "5", ...hls("v2997", x264("fps=30000/1001,scale=426:240,format=yuv420p", 60)),
      "-map", "0:a:0", "-t", "5", ...hls("a48k", ["-c:a", "aac", "-ar", "48000", "-ac", "2"]),
      // 23.976 fps and 44.1 kHz: frame lengths that are not whole 90 kHz ticks.
      "-map", "1:v:0", ...hls("v23976", x264("scale=-2:160", 48)),
      "-map", "1:a:0", ...hls("a44k", ["-c:a", "aac", "-ar", "44100", "-ac", "1"]),
      "-map", "0:a:0", "-t", "1", "-c:a", "mp2", "-f", "mpegts", join(work, "mp2.ts"),
    ]);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const segmentsIn = async (folder: string) => (await readdir(join(work, folder))).filter((name) => name.endsWith(".ts")).map((name) => join(work, folder, name));

  /** Both readers on every segment of a folder; `tolerance` in seconds for the timing fields. */
  async function compare(folder: string, kind: "video" | "audio", tolerance: number): Promise<SegmentFacts[]> {
    const paths = await segmentsIn(folder);
    expect(paths.length).toBeGreaterThanOrEqual(2);
    const measured: SegmentFacts[] = [];
    for (const path of paths) {
      const content = await readFile(path);
      const js = measureTsSegment(content, kind);
      if (js.outcome !== "measured") throw new Error(`${path}: ${JSON.stringify(js)}`);
      const ffmpeg = await gatherSegmentFactsWithFfmpeg(path, kind, { binaries: { ffmpeg: FFMPEG } });
      const { firstPts, endPts, frameDuration, ...rest } = js.facts;
      const { firstPts: ffFirst, endPts: ffEnd, frameDuration: ffFrame, ...ffRest } = ffmpeg;
      expect(rest, path).toEqual(ffRest);
      expect(Math.abs(firstPts - ffFirst), `${path} firstPts ${firstPts} vs ${ffFirst}`).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(endPts - ffEnd), `${path} endPts ${endPts} vs ${ffEnd}`).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(frameDuration - ffFrame), `${path} frameDuration ${frameDuration} vs ${ffFrame}`).toBeLessThanOrEqual(tolerance);
      measured.push(js.facts);
    }
    return measured;
  }

  it("agrees on 25 fps High 4:2:2 video with B-frames", async () => {
    const facts = await compare("v25-422", "video", 1e-6);
    expect(facts[0]).toMatchObject({ width: 240, height: 180, frameDuration: 0.04, startsWithKeyframe: true, startsWithIdr: true });
    expect(facts[0]!.codec).toMatch(/^avc1\.7A00/);
    // B-frames: some PES carries a DTS different from its PTS.
    const scan = scanTs(await readFile((await segmentsIn("v25-422"))[0]!), (streams) => streams[0]);
    expect(scan.pes.some((unit) => unit.dts !== undefined && unit.dts !== unit.pts)).toBe(true);
    // ffmpeg's muxer flags the keyframe's PES with random_access_indicator.
    expect(scan.pes[0]!.randomAccess).toBe(true);
  });

  it("agrees on 29.97 fps 4:2:0 video", async () => {
    const facts = await compare("v2997", "video", 1e-6);
    expect(facts[0]).toMatchObject({ width: 426, height: 240, frameDuration: 0.033367 });
  });

  it("agrees on 48 kHz AAC", async () => {
    const facts = await compare("a48k", "audio", 1e-6);
    expect(facts[0]).toMatchObject({ codec: "mp4a.40.2", sampleRate: 48_000, channels: 2, frameDuration: 0.021333 });
  });

  it("differs from ffmpeg only by its truncation to whole ticks at 23.976 fps and 44.1 kHz", async () => {
    // ffmpeg: floor(3753.75) = 3753 ticks a frame; the PTS steps are mostly 3754. AAC: 2089 ticks
    // vs 2089.8, and ffmpeg's interpolated PTS of the last frame rounded to a tick.
    const video = await compare("v23976", "video", 1 / 90_000 + 1e-6);
    expect(video[0]!.frameDuration).toBe(0.041711); // 3754 / 90000
    const audio = await compare("a44k", "audio", 2 / 90_000);
    expect(audio[0]!.frameDuration).toBe(0.02322); // 1024 / 44100
  });

  it("gatherSegmentFacts reads TS without ffmpeg and hands what it cannot read to ffmpeg", async () => {
    const missing = { binaries: { ffmpeg: join(work, "no-such-ffmpeg") } };
    const [segment] = await segmentsIn("v2997");
    await expect(gatherSegmentFacts(segment!, "video", missing)).resolves.toMatchObject({ width: 426, height: 240 });
    // MP2 audio in TS is not for the JavaScript reader: without ffmpeg it fails, with ffmpeg it is measured.
    await expect(gatherSegmentFacts(join(work, "mp2.ts"), "audio", missing)).rejects.toThrow();
    await expect(gatherSegmentFacts(join(work, "mp2.ts"), "audio", { binaries: { ffmpeg: FFMPEG } })).resolves.toMatchObject({
      codec: "mp4a.40.34",
      startsWithKeyframe: true,
    });
  });
});
