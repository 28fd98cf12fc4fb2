/** AAC in ADTS: the 7-byte frame headers an MPEG-TS audio stream carries. */
import { AAC_ADTS_STREAM_TYPE } from "./mpeg-ts.ts";

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
