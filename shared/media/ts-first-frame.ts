const TS_PACKET = 188;

export interface FirstVideoFrame {
  /** Bytes from the file start (PAT, PMT) to the end of the first video frame: for I-frame playlists. */
  byteRange: { offset: number; length: number };
  /** The first frame's elementary stream (H.264 Annex B: AUD, SPS, PPS, IDR…), PES headers removed. */
  payload: Buffer;
}

/**
 * Reads an MPEG-TS segment holding one video stream and returns where its first frame ends and
 * that frame's bytes, without running a process: publish needs both for every segment.
 */
export function readFirstVideoFrame(segment: Uint8Array): FirstVideoFrame {
  let pmtPid: number | undefined;
  let videoPid: number | undefined;
  let pesStarts = 0;
  const payload: Buffer[] = [];
  const usable = segment.length - (segment.length % TS_PACKET);
  for (let offset = 0; offset + TS_PACKET <= segment.length; offset += TS_PACKET) {
    if (segment[offset] !== 0x47) break;
    const payloadStart = (segment[offset + 1]! & 0x40) !== 0;
    const pid = ((segment[offset + 1]! & 0x1f) << 8) | segment[offset + 2]!;
    const adaptation = (segment[offset + 3]! >> 4) & 0x3;
    let start = offset + 4;
    if (adaptation === 2 || adaptation === 3) start += 1 + segment[offset + 4]!;
    if (adaptation === 2 || start >= offset + TS_PACKET) continue;

    if (pid === 0 && payloadStart && pmtPid === undefined) {
      const section = start + 1 + segment[start]!;
      pmtPid = ((segment[section + 10]! & 0x1f) << 8) | segment[section + 11]!;
    } else if (pid === pmtPid && payloadStart && videoPid === undefined) {
      const section = start + 1 + segment[start]!;
      const programInfoLength = ((segment[section + 10]! & 0x0f) << 8) | segment[section + 11]!;
      const entry = section + 12 + programInfoLength;
      videoPid = ((segment[entry + 1]! & 0x1f) << 8) | segment[entry + 2]!;
    } else if (pid === videoPid) {
      if (payloadStart) {
        pesStarts += 1;
        if (pesStarts === 2) return { byteRange: { offset: 0, length: offset }, payload: Buffer.concat(payload) };
        // PES header: 6 fixed bytes, 3 optional-header bytes, then header_data_length more.
        start += 9 + segment[start + 8]!;
      }
      if (pesStarts === 1) payload.push(Buffer.from(segment.subarray(start, offset + TS_PACKET)));
    }
  }
  return { byteRange: { offset: 0, length: usable }, payload: Buffer.concat(payload) };
}
