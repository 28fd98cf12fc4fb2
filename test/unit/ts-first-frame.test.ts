import { describe, expect, it } from "vitest";
import { readFirstVideoFrame } from "../../shared/media/ts-first-frame.ts";

/** One 188-byte TS packet; the payload is padded with 0xFF (PSI stuffing) up to the packet end. */
function packet(pid: number, options: { start?: boolean; adaptation?: number[]; payload: number[] }): Buffer {
  const bytes = Buffer.alloc(188, 0xff);
  const control = options.adaptation ? 3 : 1;
  bytes[0] = 0x47;
  bytes[1] = (options.start ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  bytes[2] = pid & 0xff;
  bytes[3] = (control << 4) | 0;
  let at = 4;
  if (options.adaptation) {
    bytes[at++] = options.adaptation.length;
    for (const byte of options.adaptation) bytes[at++] = byte;
  }
  if (at + options.payload.length > 188) throw new Error(`payload too long: ${options.payload.length}`);
  for (const byte of options.payload) bytes[at++] = byte;
  return bytes;
}

const fill = (length: number, byte: number) => Array.from({ length }, () => byte);
const CRC = [0xde, 0xad, 0xbe, 0xef];

// PAT: program 1 -> PMT on PID 0x1000.
const PAT = packet(0x0000, { start: true, payload: [0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, ...CRC] });
// PMT: PCR on 0x100; H.264 (0x1B) on PID 0x100, then AAC (0x0F) on PID 0x101.
const PMT = packet(0x1000, {
  start: true,
  payload: [0x00, 0x02, 0xb0, 0x17, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x00, ...CRC],
});
// PES header with a 5-byte PTS: 00 00 01 E0, length 0, flags 80 80, header_data_length 5.
const PES_HEADER = [0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x80, 0x05, 0x21, 0x00, 0x07, 0xd8, 0x61];
// Adaptation field with a PCR (random access + PCR flags, 6 PCR bytes): 1 + 7 bytes.
const PCR_ADAPTATION = [0x50, 0x00, 0x00, 0x7b, 0x0c, 0x7e, 0x00];

// The first frame: AUD, SPS start, then IDR slice bytes, spread over three packets.
const ES1 = [0x00, 0x00, 0x00, 0x01, 0x09, 0xf0, 0x00, 0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x1f, ...fill(188 - 4 - 8 - 14 - 14, 0xa1)];
const ES2 = fill(184, 0xb2);
const ES3 = fill(83, 0xc3);
const FRAME_1_START = packet(0x100, { start: true, adaptation: PCR_ADAPTATION, payload: [...PES_HEADER, ...ES1] });
const FRAME_1_MIDDLE = packet(0x100, { payload: ES2 });
const AUDIO = packet(0x101, { start: true, payload: [0x00, 0x00, 0x01, 0xc0, ...fill(180, 0x5a)] });
// Ends with adaptation-field stuffing: 1 length byte + 100 bytes (flags 0, 99 x 0xFF), 83 payload bytes.
const FRAME_1_END = packet(0x100, { adaptation: [0x00, ...fill(99, 0xff)], payload: ES3 });
const FRAME_2_START = packet(0x100, { start: true, payload: [...PES_HEADER, 0x00, 0x00, 0x00, 0x01, 0x09, 0x30, ...fill(164, 0xd4)] });

describe("readFirstVideoFrame", () => {
  it("returns the bytes up to the second video PES and the first frame's elementary stream", () => {
    const segment = Buffer.concat([PAT, PMT, FRAME_1_START, FRAME_1_MIDDLE, AUDIO, FRAME_1_END, FRAME_2_START, FRAME_1_MIDDLE]);
    const frame = readFirstVideoFrame(segment);
    expect(frame.byteRange).toEqual({ offset: 0, length: 1128 });
    expect(frame.payload.length).toBe(162 + 184 + 83);
    expect([...frame.payload.subarray(0, 14)]).toEqual([0x00, 0x00, 0x00, 0x01, 0x09, 0xf0, 0x00, 0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x1f]);
    expect(frame.payload).toEqual(Buffer.from([...ES1, ...ES2, ...ES3]));
  });

  it("takes everything when the segment holds a single frame, ignoring a partial trailing packet", () => {
    const segment = Buffer.concat([PAT, PMT, FRAME_1_START, FRAME_1_MIDDLE, Buffer.alloc(50, 0x47)]);
    const frame = readFirstVideoFrame(segment);
    expect(frame.byteRange).toEqual({ offset: 0, length: 752 });
    expect(frame.payload).toEqual(Buffer.from([...ES1, ...ES2]));
  });

  it("finds the video PID through the PMT, past program descriptors", () => {
    // PMT with a 6-byte program descriptor; video on PID 0x44. Packets on PID 0x100 are not video here.
    const pmt = packet(0x1000, {
      start: true,
      payload: [
        0x00, 0x02, 0xb0, 0x18, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe0, 0x44, 0xf0, 0x06,
        0x05, 0x04, 0x48, 0x44, 0x4d, 0x56, // registration descriptor "HDMV"
        0x1b, 0xe0, 0x44, 0xf0, 0x00, ...CRC,
      ],
    });
    const decoy = packet(0x100, { start: true, payload: [...PES_HEADER, ...fill(170, 0xee)] });
    const first = packet(0x44, { start: true, payload: [...PES_HEADER, ...fill(170, 0x11)] });
    const second = packet(0x44, { start: true, payload: [...PES_HEADER, ...fill(170, 0x22)] });
    const frame = readFirstVideoFrame(Buffer.concat([PAT, pmt, decoy, first, decoy, second]));
    expect(frame.byteRange).toEqual({ offset: 0, length: 940 });
    expect(frame.payload).toEqual(Buffer.from(fill(170, 0x11)));
  });

  it("stops at lost sync", () => {
    const broken = Buffer.concat([PAT, PMT, FRAME_1_START, Buffer.alloc(188, 0x00), FRAME_2_START]);
    const frame = readFirstVideoFrame(broken);
    expect(frame.payload).toEqual(Buffer.from(ES1));
  });
});
