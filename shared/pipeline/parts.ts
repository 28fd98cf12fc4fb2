import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { listAll } from "../ports.ts";
import { keys } from "../keys.ts";
import { h264CodecString } from "../hls/h264-codec-string.ts";
import { parseMediaPlaylist } from "../hls/parse-playlist.ts";
import { readFirstVideoAccessUnit, readFirstVideoAccessUnitOfPrefix, type FirstAccessUnit } from "../hls/ts-reader.ts";
import { enqueue, nowIso, withTempDir, type PipelineDeps } from "./deps.ts";
import { failJobOnPermanentError, type ActiveJob } from "./job-guard.ts";

/** One HLS segment as a part recorded it; publish builds the playlists from these. */
export interface SegmentRecord {
  uri: string;
  duration: number;
  bytes: number;
  /** First-frame byte range, for I-frame playlists (video only). */
  iframe?: { offset: number; length: number };
}

/** The marker a finished part writes: what it produced, and when. */
export interface PartRecord {
  part: string;
  startedAt: string;
  finishedAt: string;
  /** Segments per rendition name (`720p`, `audio`). */
  segments?: Record<string, SegmentRecord[]>;
  /** Video codec string per rendition, read from the first segment's SPS. */
  codecs?: Record<string, string>;
  /** Anything else the part wants publish to know (thumbnail files). */
  details?: unknown;
}

/**
 * Uploads the segments ffmpeg wrote for one rendition into the output tree and describes them.
 * `video` segments also get their first-frame byte range and codec string.
 */
export async function uploadSegments(
  deps: PipelineDeps,
  videoId: string,
  rendition: string,
  localDir: string,
  playlistFile: string,
  video: boolean,
): Promise<{ segments: SegmentRecord[]; codec?: string }> {
  const listed = parseMediaPlaylist(await readFile(join(localDir, playlistFile), "utf8")).segments;
  const segments: SegmentRecord[] = [];
  let codec: string | undefined;
  for (const { uri, duration } of listed) {
    const path = join(localDir, uri);
    const record: SegmentRecord = { uri, duration, bytes: (await stat(path)).size };
    const key = keys.output(videoId, `${rendition}/${uri}`);
    if (video) {
      const frame = await readFirstFrame(path, record.bytes);
      if (!frame) throw new Error(`${rendition}/${uri}: ffmpeg wrote a segment with no readable video frame`);
      record.iframe = frame.range;
      codec ??= h264CodecString(frame.payload);
    }
    await deps.store.upload(key, path, { contentType: "video/mp2t", readOnly: true });
    segments.push(record);
  }
  return { segments, codec };
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

export async function partExists(deps: PipelineDeps, videoId: string, part: string): Promise<boolean> {
  return (await deps.store.head(keys.part(videoId, part))) !== undefined;
}

/**
 * Fan-in without a database: write this part's marker, then list the markers; whoever sees every
 * part enqueues publish (several may; publish is idempotent).
 */
export async function completePart(deps: PipelineDeps, job: ActiveJob, record: PartRecord | undefined): Promise<void> {
  if (record) {
    await deps.store.put(keys.part(job.videoId, record.part), JSON.stringify(record, null, 2), { contentType: "application/json" });
  }
  const present = new Set(
    (await listAll(deps.store, keys.partsPrefix(job.videoId))).map((object) => object.key.slice(keys.partsPrefix(job.videoId).length).replace(/\.json$/, "")),
  );
  if (job.plan.parts.every((part) => present.has(part))) {
    await enqueue(deps, [{ type: "publish-video", version: 1, videoId: job.videoId }]);
  }
}

/**
 * Runs one part of a job at most once: a part whose marker exists is not redone (a duplicate
 * delivery only repeats the fan-in check). The work gets a temp folder, removed afterwards; a
 * permanent failure marks the job failed.
 */
export async function runPartOnce(
  deps: PipelineDeps,
  job: ActiveJob,
  part: string,
  work: (dir: string) => Promise<Pick<PartRecord, "segments" | "codecs" | "details">>,
): Promise<void> {
  if (await partExists(deps, job.videoId, part)) {
    await completePart(deps, job, undefined);
    return;
  }
  const startedAt = nowIso(deps);
  const produced = await failJobOnPermanentError(deps, job, () => withTempDir(deps, part, work));
  await completePart(deps, job, { part, startedAt, finishedAt: nowIso(deps), ...produced });
}
