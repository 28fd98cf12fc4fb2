import { describe, expect, it } from "vitest";
import { audioCodecFromTs } from "../../shared/hls/adts.ts";
import { splitAnnexB, unescapeRbsp } from "../../shared/hls/annex-b.ts";
import { avcCodecString, h264CodecString, parseSpsProfileLevel } from "../../shared/hls/h264-codec-string.ts";
import { factsFromPackets, parseFramecrc } from "../../shared/hls/measure-segment.ts";
import { readFirstAccessUnit, readFirstVideoAccessUnit, readFirstVideoAccessUnitOfPrefix } from "../../shared/hls/mpeg-ts.ts";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

// The first access unit's parameter sets of real x264 output (diver.mov scaled to 1280x720,
// -preset veryfast -profile:v high): SPS (with emulation prevention bytes), PPS, then an SEI.
const HIGH_L31 = hex(`
  00000001 6764001f acd94050 05bbff00 0300046a 04040b4a 00000300 02000003 00641e30 632c
  00000001 68ef8fcb
  000001 0605ffff a9dc45e9
`);

// From an HLS segment of androidx_sample.avi (libx264 ultrafast): AUD, SPS, PPS, SEI.
const CONSTRAINED_BASELINE_L30 = hex(`
  00000001 09f0
  00000001 6742c01e da0360bf e5c04400 000fa400 02ee003c 58ba80
  00000001 68ce3c80
  000001 0605ffff 5fdc45e9
`);

describe("h264CodecString", () => {
  it("reads avc1.PPCCLL from the SPS, uppercase hex", () => {
    expect(h264CodecString(HIGH_L31)).toBe("avc1.64001F");
    expect(h264CodecString(CONSTRAINED_BASELINE_L30)).toBe("avc1.42C01E");
  });

  it("returns undefined when the stream has no SPS", () => {
    expect(h264CodecString(hex("00000001 09f0 00000001 68ce3c80"))).toBeUndefined();
  });

  it("skips emulation prevention bytes inside the profile/level bytes", () => {
    // Synthetic: profile_idc 0x00 and constraint byte 0x00 force an 0x03 before level_idc 0x01.
    expect(parseSpsProfileLevel(hex("67 00 00 03 01 ff"))).toEqual({ profileIdc: 0, constraintFlags: 0, levelIdc: 1 });
    expect(avcCodecString({ profileIdc: 0x4d, constraintFlags: 0x40, levelIdc: 0x1e })).toBe("avc1.4D401E");
  });

  it("refuses a NAL unit that is not an SPS", () => {
    expect(() => parseSpsProfileLevel(hex("68 ce 3c 80"))).toThrow(/not an H.264 SPS/);
  });
});

describe("splitAnnexB and unescapeRbsp", () => {
  it("splits at 3- and 4-byte start codes and reports NAL types", () => {
    expect(splitAnnexB(CONSTRAINED_BASELINE_L30).map((unit) => [unit.type, unit.data.length])).toEqual([
      [9, 2],
      [7, 23],
      [8, 4],
      [6, 8],
    ]);
  });

  it("removes 0x03 only after two zero bytes", () => {
    expect([...unescapeRbsp(hex("00 00 03 01 00 03 00 00 03 00 00 03"))]).toEqual([0, 0, 1, 0, 3, 0, 0, 0, 0]);
  });
});

/** One 188-byte TS packet; short payloads are padded with adaptation-field stuffing, as muxers do. */
function tsPacket(pid: number, unitStart: boolean, payload: Buffer): Buffer {
  const header = Buffer.from([0x47, (unitStart ? 0x40 : 0) | (pid >> 8), pid & 0xff, 0x10]);
  const room = 184 - payload.length;
  if (room === 0) return Buffer.concat([header, payload]);
  header[3] = 0x30;
  const adaptation = Buffer.alloc(room, 0xff);
  adaptation[0] = room - 1;
  if (room > 1) adaptation[1] = 0x00;
  return Buffer.concat([header, adaptation, payload]);
}

describe("readFirstVideoAccessUnit", () => {
  const pat = hex("00 00b00d 0001 c1 00 00 0001 f000 2ab104b2"); // program 1 -> PMT PID 0x1000
  const pmt = hex("00 02b012 0001 c1 00 00 e100 f000 1be100f000 00000000"); // H.264 on PID 0x100
  const pesHeader = hex("000001e0 0000 80 80 05 2100 0776 21"); // PTS only
  const idr = hex("00000001 6588840021ffff");
  const firstPayload = Buffer.concat([pesHeader, CONSTRAINED_BASELINE_L30, idr]);
  const ts = Buffer.concat([
    tsPacket(0x0000, true, pat),
    tsPacket(0x1000, true, pmt),
    tsPacket(0x0100, true, firstPayload.subarray(0, 40)),
    tsPacket(0x0100, false, firstPayload.subarray(40)),
    tsPacket(0x0100, true, Buffer.concat([pesHeader, hex("00000001 09f0 00000001 419a")])),
  ]);

  it("returns the first PES payload and the byte range through its last packet", () => {
    const unit = readFirstVideoAccessUnit(ts);
    expect(unit?.streamType).toBe(0x1b);
    expect(unit?.range).toEqual({ offset: 0, length: 4 * 188 });
    expect(unit?.payload.equals(Buffer.concat([CONSTRAINED_BASELINE_L30, idr]))).toBe(true);
    expect(h264CodecString(unit!.payload)).toBe("avc1.42C01E");
    expect(splitAnnexB(unit!.payload).map((nal) => nal.type)).toEqual([9, 7, 8, 6, 5]);
  });

  it("runs to the end of the file when the first frame is the only one", () => {
    expect(readFirstVideoAccessUnit(ts.subarray(0, 4 * 188))?.range).toEqual({ offset: 0, length: 4 * 188 });
  });

  it("on the first bytes of a longer segment, asks for more until the second frame has started", () => {
    for (const packets of [0, 1, 2, 3, 4]) {
      expect(readFirstVideoAccessUnitOfPrefix(ts.subarray(0, packets * 188 + 100)), `${packets} packets`).toBe("need-more");
    }
    const unit = readFirstVideoAccessUnitOfPrefix(ts);
    expect(unit).not.toBe("need-more");
    expect(unit).toEqual(readFirstVideoAccessUnit(ts));
    expect(readFirstVideoAccessUnitOfPrefix(Buffer.concat([ts.subarray(0, 188), Buffer.alloc(188, 0)]))).toBeUndefined();
  });

  it("finds no audio stream in a video-only segment", () => {
    expect(readFirstAccessUnit(ts, "audio")).toBeUndefined();
  });

  it("gives up on data that is not 188-byte MPEG-TS", () => {
    expect(readFirstVideoAccessUnit(Buffer.from("#EXTM3U\n"))).toBeUndefined();
    expect(readFirstVideoAccessUnit(Buffer.concat([ts.subarray(0, 188), Buffer.alloc(188, 0)]))).toBeUndefined();
  });
});

describe("audioCodecFromTs", () => {
  it("reads the AAC object type, sample rate and channels from the ADTS header", () => {
    // The ADTS header of a real segment (ffmpeg aac, LC, 48 kHz, stereo).
    expect(audioCodecFromTs(0x0f, hex("fff1 4c80 03df fc"))).toEqual({ codec: "mp4a.40.2", sampleRate: 48_000, channels: 2 });
    // Same header with profile bits 00 (AAC Main) and sampling index 4 (44.1 kHz), mono.
    expect(audioCodecFromTs(0x0f, hex("fff1 1040 03df fc"))).toEqual({ codec: "mp4a.40.1", sampleRate: 44_100, channels: 1 });
    expect(audioCodecFromTs(0x03, hex("fffb"))).toEqual({ codec: "mp4a.40.34" });
    expect(audioCodecFromTs(0x0f, hex("0000 0000 0000 00"))).toBeUndefined();
  });
});

describe("parseFramecrc and factsFromPackets", () => {
  // `ffmpeg -copyts -i seg-00002.ts -map 0:v:0 -c copy -f framecrc -` of a real 0.083 s segment.
  const VIDEO = [
    "#extradata 0:       35, 0xc5e00ad1",
    "#software: Lavf59.27.100",
    "#tb 0: 1/90000",
    "#media_type 0: video",
    "#codec_id 0: h264",
    "#dimensions 0: 864x360",
    "#sar 0: 1/1",
    "0,     486360,     486360,     3753,    11056, 0x5e719584, S=1,        1",
    "0,     490114,     490114,     3753,     3335, 0x9d8d5e37, F=0x0",
    "",
  ].join("\n");

  it("reads the time base, size, timestamps and keyframe flags", () => {
    expect(parseFramecrc(VIDEO)).toEqual({
      timeBase: 1 / 90_000,
      width: 864,
      height: 360,
      packets: [
        { pts: 486360, duration: 3753, keyframe: true },
        { pts: 490114, duration: 3753, keyframe: false },
      ],
    });
    expect(factsFromPackets(parseFramecrc(VIDEO), "video")).toEqual({
      bytes: 0,
      packets: 2,
      firstPts: 5.404,
      endPts: 5.487411,
      startsWithKeyframe: true,
      frameDuration: 0.0417,
      width: 864,
      height: 360,
    });
  });

  it("takes the end in presentation order when B-frames reorder the packets", () => {
    const listing = parseFramecrc(
      ["#tb 0: 1/90000", "0, 0, 6000, 3000, 10, 0x0", "0, 3000, 15000, 3000, 10, 0x0, F=0x0", "0, 6000, 9000, 3000, 10, 0x0, F=0x0", "0, 9000, 12000, 3000, 10, 0x0, F=0x0"].join("\n"),
    );
    expect(factsFromPackets(listing, "video")).toMatchObject({ firstPts: 0.066667, endPts: 0.2, frameDuration: 0.033333 });
  });

  it("says when a segment has no packets", () => {
    expect(() => factsFromPackets(parseFramecrc("#tb 0: 1/90000\n"), "audio")).toThrow(/no audio packets/);
  });
});
