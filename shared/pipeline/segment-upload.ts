import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ObjectStore } from "../ports.ts";
import { h264CodecString } from "../hls/h264-codec-string.ts";
import { parseMediaPlaylist } from "../hls/parse-playlist.ts";
import { readFirstVideoAccessUnit, readFirstVideoAccessUnitOfPrefix, type FirstAccessUnit } from "../hls/mpeg-ts.ts";
import type { SegmentRecord } from "./part-record.ts";
import { assertSegmentsAsPlanned, type ExpectedSegments, type WrittenSegment } from "./verify-segments.ts";

/**
 * Uploads the segments ffmpeg wrote for one rendition under the part attempt's `location`
 * (`<location><rendition>/<segment>`) and describes them. `video` segments also get their
 * first-frame byte range and codec string.
 */
export async function uploadSegments(
  deps: { store: ObjectStore },
  location: string,
  rendition: string,
  localDir: string,
  playlistFile: string,
  video: boolean,
  expected?: ExpectedSegments,
): Promise<{ segments: SegmentRecord[]; codec?: string }> {
  const listed = parseMediaPlaylist(await readFile(join(localDir, playlistFile), "utf8")).segments;
  if (expected) assertSegmentsAsPlanned(rendition, await writtenSegments(localDir, listed), expected);
  const segments: SegmentRecord[] = [];
  let codec: string | undefined;
  for (const listedSegment of listed) {
    const uploaded = await uploadSegment(deps, location, rendition, localDir, listedSegment, video);
    segments.push(uploaded.segment);
    codec ??= uploaded.codec;
  }
  return { segments, codec };
}

/** The segments ffmpeg listed, with the size of each file on disk (undefined: missing), for assertSegmentsAsPlanned. */
export function writtenSegments(localDir: string, listed: ReadonlyArray<{ uri: string; duration: number }>): Promise<WrittenSegment[]> {
  return Promise.all(listed.map(async ({ uri, duration }) => ({ uri, duration, bytes: await stat(join(localDir, uri)).then((s) => s.size, () => undefined) })));
}

/** Uploads one segment ffmpeg listed (see uploadSegments) and describes it. */
export async function uploadSegment(
  deps: { store: ObjectStore },
  location: string,
  rendition: string,
  localDir: string,
  listed: { uri: string; duration: number },
  video: boolean,
): Promise<{ segment: SegmentRecord; codec?: string }> {
  const path = join(localDir, listed.uri);
  const segment: SegmentRecord = { uri: listed.uri, duration: listed.duration, bytes: (await stat(path)).size };
  let codec: string | undefined;
  if (video) {
    const frame = await readFirstFrame(path, segment.bytes);
    if (!frame) throw new Error(`${rendition}/${listed.uri}: ffmpeg wrote a segment with no readable video frame`);
    segment.iframe = frame.range;
    codec = h264CodecString(frame.payload);
  }
  await deps.store.upload(`${location}${rendition}/${listed.uri}`, path, { contentType: "video/mp2t", readOnly: true });
  return { segment, codec };
}

/** Enough for the first frame of most segments; a bigger keyframe takes a few more reads. */
const FIRST_READ_BYTES = 256 * 1024;

/** The segment's first video access unit, reading only as much of the file as that takes. */
async function readFirstFrame(path: string, size: number): Promise<FirstAccessUnit | undefined> {
  const handle = await open(path, "r");
  try {
    for (let length = Math.min(size, FIRST_READ_BYTES); ; length = Math.min(size, length * 4)) {
      const head = Buffer.alloc(length);
      const { bytesRead } = await handle.read(head, 0, length, 0);
      // The whole file (or it ended sooner than stat said): what is there is all there is.
      if (bytesRead >= size || bytesRead < length) return readFirstVideoAccessUnit(head.subarray(0, bytesRead));
      const frame = readFirstVideoAccessUnitOfPrefix(head.subarray(0, bytesRead));
      if (frame !== "need-more") return frame;
    }
  } finally {
    await handle.close();
  }
}
