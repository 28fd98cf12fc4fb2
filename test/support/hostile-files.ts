/** Builders of damaged and hostile media files for test/faults/hostile-inputs.test.ts. */

/** mulberry32: a small deterministic generator, so every run mutates the same bytes. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = ["flip", "flip-header", "truncate", "splice", "zero-run", "repeat-run"] as const;

/**
 * One mutant of `bytes`: random bytes changed (anywhere, or in the first 4 KB where the headers
 * are), the file cut short, its head joined to another file's tail, a run zeroed, or a run
 * repeated (a duplicated packet, a doubled box).
 */
export function mutate(bytes: Buffer, other: Buffer, random: () => number): { bytes: Buffer; how: string } {
  const at = (length: number) => Math.floor(random() * length);
  const kind = KINDS[at(KINDS.length)]!;
  const copy = Buffer.from(bytes);
  switch (kind) {
    case "flip":
    case "flip-header": {
      const span = kind === "flip" ? copy.length : Math.min(copy.length, 4096);
      const count = 1 + at(32);
      for (let i = 0; i < count; i += 1) copy[at(span)] = at(256);
      return { bytes: copy, how: kind };
    }
    case "truncate":
      return { bytes: copy.subarray(0, at(copy.length)), how: kind };
    case "splice":
      return { bytes: Buffer.concat([copy.subarray(0, at(copy.length)), other.subarray(at(other.length))]), how: kind };
    case "zero-run": {
      const start = at(copy.length);
      copy.fill(0, start, Math.min(copy.length, start + 1 + at(65536)));
      return { bytes: copy, how: kind };
    }
    case "repeat-run": {
      const start = at(copy.length);
      const run = copy.subarray(start, Math.min(copy.length, start + 1 + at(65536)));
      return { bytes: Buffer.concat([copy.subarray(0, start), run, run, copy.subarray(start + run.length)]), how: kind };
    }
  }
}

/** Writes width and height into the first QuickTime video sample entry of `fourcc` in the stsd box. */
export function setSampleEntrySize(mov: Buffer, fourcc: string, width: number, height: number): Buffer {
  const copy = Buffer.from(mov);
  const entry = copy.indexOf(Buffer.from(fourcc, "latin1"), copy.indexOf(Buffer.from("stsd")));
  if (entry < 0) throw new Error(`no ${fourcc} sample entry`);
  // fourcc, 6 reserved, data reference index, version, revision, vendor, temporal and spatial quality.
  copy.writeUInt16BE(width, entry + 28);
  copy.writeUInt16BE(height, entry + 30);
  return copy;
}

/** An EBML element with an 8-byte size. */
function element(id: number, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const idBytes = Buffer.from(id.toString(16).padStart(id > 0xffffff ? 8 : id > 0xffff ? 6 : id > 0xff ? 4 : 2, "0"), "hex");
  const size = Buffer.alloc(8);
  size[0] = 0x01;
  size.writeUIntBE(body.length, 2, 6);
  return Buffer.concat([idBytes, size, body]);
}

const uint = (id: number, value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return element(id, bytes);
};
const text = (id: number, value: string) => element(id, Buffer.from(value, "latin1"));
const float = (id: number, value: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return element(id, bytes);
};

/**
 * A Matroska file declaring one 16x16 video track and `audioTracks` PCM tracks, with one audio
 * block: a few hundred bytes of headers that ask a demuxer for thousands of streams.
 */
export function matroskaWithTracks(audioTracks: number): Buffer {
  const tracks = [element(0xae, uint(0xd7, 1), uint(0x73c5, 1), uint(0x83, 1), text(0x86, "V_MJPEG"), element(0xe0, uint(0xb0, 16), uint(0xba, 16)))];
  for (let number = 2; number <= audioTracks + 1; number += 1) {
    tracks.push(element(0xae, uint(0xd7, number), uint(0x73c5, number), uint(0x83, 2), text(0x86, "A_PCM/INT/LIT"), element(0xe1, float(0xb5, 8000), uint(0x9f, 1), uint(0x6264, 16))));
  }
  return Buffer.concat([
    element(0x1a45dfa3, uint(0x4286, 1), uint(0x42f7, 1), uint(0x42f2, 4), uint(0x42f3, 8), text(0x4282, "matroska"), uint(0x4287, 4), uint(0x4285, 2)),
    element(
      0x18538067,
      element(0x1549a966, uint(0x2ad7b1, 1_000_000)),
      element(0x1654ae6b, ...tracks),
      // One block of track 2: track number as a one-byte vint, timecode 0, keyframe flag.
      element(0x1f43b675, uint(0xe7, 0), element(0xa3, Buffer.from([0x82, 0, 0, 0x80]), Buffer.alloc(16))),
    ),
  ]);
}
