/**
 * The conformance check of an HLS tree on local disk: read the master and media playlists, measure
 * every segment (measure-segment.ts), run the pure rules (conformance-rules.ts), return a report.
 * `vodpipe check` prints it; the publish step runs it before marking a video ready.
 *
 * Only relative URIs that stay inside the master's folder are followed: a playlist that names
 * http://… or ../../etc/passwd gets a files-readable failure, never a request or a read; nor is
 * a symbolic link inside the folder that leads out of it.
 */
import { readFile, realpath, rm, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { FfmpegBinaries } from "../media/ffmpeg-binaries.ts";
import type { Logger } from "../logger.ts";
import { errorMessage, isPermanent, NotFoundError } from "../errors.ts";
import type { CheckResult, IFrameStreamUnderTest, RenditionUnderTest, SegmentUnderTest, StreamUnderTest } from "./conformance-model.ts";
import { measureVariant } from "./conformance-declared-rules.ts";
import { runConformanceRules } from "./conformance-rules.ts";
import { measureBandwidth, type Bandwidth } from "./bandwidth.ts";
import {
  parseMediaPlaylist,
  parsePlaylist,
  type ParsedMasterPlaylist,
  type ParsedMediaPlaylist,
  type ParsedPlaylist,
} from "./parse-playlist.ts";
import { mapWithLimit } from "../map-with-limit.ts";
import { gatherSegmentFacts } from "./measure-segment.ts";
import { roundToMicroseconds } from "./numbers.ts";
import { SegmentUnreadableError, type SegmentKind } from "./segment-facts.ts";

export interface CheckHlsOptions {
  /** MPEG-TS segments are read in JavaScript; ffmpeg measures anything else (segment-facts.ts). */
  binaries: Pick<FfmpegBinaries, "ffmpeg">;
  logger?: Logger;
  /** Segments measured at a time (each may run an ffmpeg); default 2. */
  concurrency?: number;
  /**
   * Brings a segment's file to its path just before it is measured; the file is removed again
   * afterwards. Publish checks a tree whose segments are still in the object store this way, so
   * no more than `concurrency` segments are on disk at once, whatever the video's length.
   */
  fetchSegment?: (path: string) => Promise<void>;
  signal?: AbortSignal;
}

export interface RenditionSummary {
  name: string;
  kind: SegmentKind;
  segments: number;
  /** Sum of EXTINF, seconds. */
  duration?: number;
  /** Last segment's end minus the first one's start, seconds. */
  decodedDuration?: number;
  codec?: string;
  width?: number;
  height?: number;
  /** Measured rates of this rendition alone. */
  measured?: Bandwidth;
}

export interface VariantSummary {
  uri: string;
  declared: { bandwidth?: number; averageBandwidth?: number; codecs?: string };
  /** Video plus its audio group, measured the way BANDWIDTH is defined. */
  measured?: Bandwidth;
}

export interface HlsReport {
  ok: boolean;
  /** The playlist the check started from. */
  target: string;
  /** The master playlist's path, or null when the target was a lone media playlist. */
  master: string | null;
  variants: VariantSummary[];
  renditions: RenditionSummary[];
  checks: CheckResult[];
  failures: CheckResult[];
}

export const MASTER_PLAYLIST_NAME = "master.m3u8";

export async function checkHls(target: string, options: CheckHlsOptions): Promise<HlsReport> {
  const path = await playlistPath(target);
  const root = dirname(path);
  const context: Context = { root, realRoot: await realpath(root).catch(() => root), paths: new Map() };
  let parsed: ParsedPlaylist;
  try {
    const confined = await confine(context, path);
    if ("error" in confined) throw new Error(confined.error);
    parsed = parsePlaylist(await readFile(confined.path, "utf8"));
  } catch (error) {
    return report(path, null, { renditions: [], iframeStreams: [] }, [
      { rule: "files-readable", ok: false, detail: `${path}: ${errorMessage(error)}` },
    ]);
  }

  let stream: StreamUnderTest;
  if (parsed.kind === "master") {
    stream = await readMaster(context, parsed);
    await measureSegments(context, stream.renditions, options);
  } else {
    // A lone media playlist: video, unless its segments turn out to carry no video.
    const rendition = readRendition(context, path, basename(path), "video", parsed);
    await measureSegments(context, [rendition], options);
    if (rendition.segments.length > 0 && rendition.segments.every((segment) => segment.error?.startsWith("no video stream"))) {
      rendition.kind = "audio";
      for (const segment of rendition.segments) delete segment.error;
      await measureSegments(context, [rendition], options);
    }
    stream = { renditions: [rendition], iframeStreams: [] };
  }

  const checks = runConformanceRules(stream);
  options.logger?.debug({ target: path, checks: checks.length }, "hls check done");
  return report(path, parsed.kind === "master" ? path : null, stream, checks);
}

interface Context {
  /** The folder of the playlist the check started from; no URI may leave it. */
  root: string;
  /** The same folder with symbolic links resolved: no file read may lie outside it. */
  realRoot: string;
  /** Where each segment's file is. */
  paths: Map<SegmentUnderTest, string>;
}

async function playlistPath(target: string): Promise<string> {
  const absolute = resolve(target);
  const info = await stat(absolute).catch(() => undefined);
  return info?.isDirectory() ? join(absolute, MASTER_PLAYLIST_NAME) : absolute;
}

async function readMaster(context: Context, master: ParsedMasterPlaylist): Promise<StreamUnderTest> {
  const renditions: RenditionUnderTest[] = [];
  const named: { uri: string; kind: SegmentKind }[] = [
    ...master.variants.map((variant) => ({ uri: variant.uri, kind: "video" as const })),
    ...master.media.flatMap((media) => (media.type === "AUDIO" && media.uri !== undefined ? [{ uri: media.uri, kind: "audio" as const }] : [])),
  ];
  for (const { uri, kind } of named) {
    if (renditions.some((rendition) => rendition.name === uri)) continue;
    const loaded = await loadMediaPlaylist(context, uri);
    renditions.push("error" in loaded ? { name: uri, kind, error: loaded.error, segments: [] } : readRendition(context, loaded.path, uri, kind, loaded.playlist));
  }
  const iframeStreams: IFrameStreamUnderTest[] = [];
  for (const iframe of master.iframeVariants) {
    if (iframe.uri !== undefined) iframeStreams.push(await readIFrameStream(context, iframe.uri, renditions));
  }
  return { master, renditions, iframeStreams };
}

function readRendition(context: Context, path: string, name: string, kind: SegmentKind, playlist: ParsedMediaPlaylist): RenditionUnderTest {
  const segments = playlist.segments.map((entry): SegmentUnderTest => {
    const located = locate(context.root, dirname(path), entry.uri);
    if ("error" in located) return { uri: entry.uri, error: located.error };
    const segment: SegmentUnderTest = { uri: entry.uri };
    context.paths.set(segment, located.path);
    return segment;
  });
  return { name, kind, playlist, segments };
}

async function readIFrameStream(context: Context, uri: string, renditions: RenditionUnderTest[]): Promise<IFrameStreamUnderTest> {
  const loaded = await loadMediaPlaylist(context, uri);
  if ("error" in loaded) return { name: uri, error: loaded.error, segmentIndexes: [] };
  const paths = loaded.playlist.segments.map((entry) => {
    const located = locate(context.root, dirname(loaded.path), entry.uri);
    return "error" in located ? undefined : located.path;
  });
  const indexIn = (rendition: RenditionUnderTest, path: string | undefined) =>
    rendition.segments.findIndex((segment) => path !== undefined && context.paths.get(segment) === path);
  // The video rendition whose segment files this playlist points into.
  const rendition = renditions.find((candidate) => candidate.kind === "video" && indexIn(candidate, paths[0]) >= 0);
  const segmentIndexes = paths.map((path) => {
    const index = rendition ? indexIn(rendition, path) : -1;
    return index < 0 ? undefined : index;
  });
  return { name: uri, playlist: loaded.playlist, segmentIndexes, ...(rendition ? { rendition: rendition.name } : {}) };
}

async function loadMediaPlaylist(context: Context, uri: string): Promise<{ path: string; playlist: ParsedMediaPlaylist } | { error: string }> {
  const located = locate(context.root, context.root, uri);
  if ("error" in located) return located;
  const confined = await confine(context, located.path);
  if ("error" in confined) return confined;
  try {
    return { path: located.path, playlist: parseMediaPlaylist(await readFile(confined.path, "utf8")) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { error: code === "ENOENT" ? "file not found" : errorMessage(error) };
  }
}

/** A playlist URI as a path inside `root`, or why it is not followed. */
function locate(root: string, base: string, uri: string): { path: string } | { error: string } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/") || uri.startsWith("\\")) {
    return { error: "only relative URIs inside the stream's folder are followed" };
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(uri.split(/[?#]/)[0]!);
  } catch {
    return { error: "malformed percent-encoding" };
  }
  const path = resolve(base, decoded);
  if (decoded.includes("\0") || !isInside(root, path)) {
    return { error: "resolves outside the stream's folder" };
  }
  return { path };
}

function isInside(root: string, path: string): boolean {
  const inside = relative(root, path);
  return !(inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside));
}

/** The file's real path, if symbolic links keep it inside the checked folder; what to report if not. */
async function confine(context: Context, path: string): Promise<{ path: string } | { error: string }> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : errorMessage(error) };
  }
  return isInside(context.realRoot, real) ? { path: real } : { error: "a symbolic link that leads out of the stream's folder is not followed" };
}

async function measureSegments(context: Context, renditions: RenditionUnderTest[], options: CheckHlsOptions): Promise<void> {
  const jobs = renditions.flatMap((rendition) =>
    rendition.segments.filter((segment) => !segment.error).map((segment) => ({ kind: rendition.kind, segment })),
  );
  await mapWithLimit(jobs, options.concurrency ?? 2, async ({ kind, segment }) => {
    const path = context.paths.get(segment)!;
    try {
      await options.fetchSegment?.(path);
      const confined = await confine(context, path);
      if ("error" in confined) {
        segment.error = confined.error;
        return;
      }
      segment.facts = await gatherSegmentFacts(confined.path, kind, {
        binaries: options.binaries,
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      // A missing or unreadable segment is a finding; failing to run ffmpeg at all is not.
      const code = (error as NodeJS.ErrnoException).code;
      const missing = code === "ENOENT" || error instanceof NotFoundError;
      const finding = isPermanent(error) || error instanceof SegmentUnreadableError || missing || code === "EISDIR";
      if (!finding) throw error;
      segment.error = missing ? "file not found" : lastLines(errorMessage(error));
    } finally {
      if (options.fetchSegment) await rm(path, { force: true });
    }
  });
}

function lastLines(message: string): string {
  return message.split("\n").filter((line) => line.trim()).slice(-2).join(" | ");
}

function report(target: string, master: string | null, stream: StreamUnderTest, checks: CheckResult[]): HlsReport {
  const failures = checks.filter((check) => !check.ok);
  return {
    ok: failures.length === 0 && checks.length > 0,
    target,
    master,
    variants: (stream.master?.variants ?? []).map((variant) => {
      const measured = measureVariant(stream, variant);
      return {
        uri: variant.uri,
        declared: {
          ...(variant.bandwidth === undefined ? {} : { bandwidth: variant.bandwidth }),
          ...(variant.averageBandwidth === undefined ? {} : { averageBandwidth: variant.averageBandwidth }),
          ...(variant.codecs === undefined ? {} : { codecs: variant.codecs.join(",") }),
        },
        ...(measured ? { measured } : {}),
      };
    }),
    renditions: stream.renditions.map(summarize),
    checks,
    failures,
  };
}

function summarize(rendition: RenditionUnderTest): RenditionSummary {
  const summary: RenditionSummary = { name: rendition.name, kind: rendition.kind, segments: rendition.segments.length };
  const playlist = rendition.playlist;
  if (playlist) summary.duration = roundToMicroseconds(playlist.segments.reduce((sum, segment) => sum + segment.duration, 0));
  const facts = rendition.segments.map((segment) => segment.facts);
  const first = facts[0];
  const last = facts[facts.length - 1];
  if (first && last) summary.decodedDuration = roundToMicroseconds(last.endPts - first.firstPts);
  if (first?.codec) summary.codec = first.codec;
  if (first?.width) summary.width = first.width;
  if (first?.height) summary.height = first.height;
  if (playlist && facts.length > 0 && facts.every((fact) => fact !== undefined)) {
    summary.measured = measureBandwidth(
      playlist.segments.map((segment, index) => ({ duration: segment.duration, bytes: segment.byteRange?.length ?? facts[index]!.bytes })),
      playlist.targetDuration === undefined ? {} : { targetDuration: playlist.targetDuration },
    );
  }
  return summary;
}

