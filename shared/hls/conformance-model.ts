/**
 * What the conformance rules work on (the stream under test: parsed playlists and measured
 * segment facts), what they return, their tolerances, and the helpers the rules share.
 */
import type { ParsedMasterPlaylist, ParsedMediaPlaylist } from "./parse-playlist.ts";
import type { SegmentFacts } from "./segment-facts.ts";

export const RULES = [
  "files-readable",
  "master-attributes",
  "playlist-type-vod",
  "endlist",
  "target-duration",
  "keyframe-start",
  "aligned-boundaries",
  "duration-matches-decoded",
  "segment-duration",
  "continuous-timestamps",
  "bandwidth-peak",
  "bandwidth-average",
  "codecs",
  "resolution",
  "frame-rate",
  "audio-duration",
  "iframe-playlist",
] as const;

export type RuleId = (typeof RULES)[number];

export interface CheckResult {
  rule: RuleId;
  ok: boolean;
  detail: string;
  /** The media playlist's URI as the master names it, e.g. "720p/index.m3u8". */
  rendition?: string;
  /** Index of the segment in its media playlist. */
  segment?: number;
}

export interface SegmentUnderTest {
  uri: string;
  facts?: SegmentFacts;
  /** Why there are no facts (missing file, ffmpeg could not read it, URI outside the stream). */
  error?: string;
}

export interface RenditionUnderTest {
  name: string;
  kind: "video" | "audio";
  playlist?: ParsedMediaPlaylist;
  /** Why the playlist could not be read or parsed. */
  error?: string;
  /** In playlist order, one per playlist segment. */
  segments: SegmentUnderTest[];
}

export interface IFrameStreamUnderTest {
  name: string;
  playlist?: ParsedMediaPlaylist;
  error?: string;
  /** The video rendition whose segment files this I-frame playlist points into. */
  rendition?: string;
  /** Per I-frame entry: the index of the rendition segment it points into (undefined: none). */
  segmentIndexes: (number | undefined)[];
}

export interface StreamUnderTest {
  /** Undefined when the checker was given a media playlist on its own. */
  master?: ParsedMasterPlaylist;
  renditions: RenditionUnderTest[];
  iframeStreams: IFrameStreamUnderTest[];
}

/** Rounding of the 90 kHz clock and of EXTINF's six decimals: 0.1 ms. */
export const TIMING_SLACK = 0.0001;
export const BANDWIDTH_TOLERANCE = 0.1;
export const FRAME_RATE_TOLERANCE = 0.02;

/** A rendition whose playlist parsed and whose every segment was measured. */
export interface Measured {
  name: string;
  kind: "video" | "audio";
  playlist: ParsedMediaPlaylist;
  facts: SegmentFacts[];
  frameDuration: number;
}

export function measured(rendition: RenditionUnderTest): Measured | undefined {
  const { playlist } = rendition;
  if (!playlist || playlist.segments.length === 0) return undefined;
  if (rendition.segments.length !== playlist.segments.length) return undefined;
  const facts = rendition.segments.map((segment) => segment.facts);
  if (facts.some((fact) => fact === undefined)) return undefined;
  const known = facts as SegmentFacts[];
  return { name: rendition.name, kind: rendition.kind, playlist, facts: known, frameDuration: frameDurationOf(known) };
}

export function frameDurationOf(facts: SegmentFacts[]): number {
  const counts = new Map<number, number>();
  for (const fact of facts) counts.set(fact.frameDuration, (counts.get(fact.frameDuration) ?? 0) + fact.packets);
  let best = 0;
  let bestCount = -1;
  for (const [duration, count] of counts) {
    if (count > bestCount) [best, bestCount] = [duration, count];
  }
  return best;
}

export function measuredRenditions(stream: StreamUnderTest, kind: "video" | "audio"): Measured[] {
  return stream.renditions
    .filter((rendition) => rendition.kind === kind)
    .map(measured)
    .filter((rendition): rendition is Measured => rendition !== undefined);
}

export function decodedSpan(rendition: Measured): number {
  return rendition.facts[rendition.facts.length - 1]!.endPts - rendition.facts[0]!.firstPts;
}

export function extinfSum(playlist: ParsedMediaPlaylist): number {
  return playlist.segments.reduce((sum, segment) => sum + segment.duration, 0);
}

export function pass(rule: RuleId, detail: string, rendition?: string): CheckResult {
  return rendition === undefined ? { rule, ok: true, detail } : { rule, ok: true, detail, rendition };
}

export function fail(rule: RuleId, detail: string, rendition?: string, segment?: number): CheckResult {
  return {
    rule,
    ok: false,
    detail,
    ...(rendition === undefined ? {} : { rendition }),
    ...(segment === undefined ? {} : { segment }),
  };
}

/** Per-item failures, or one pass for the whole when there are none. */
export function collect(rule: RuleId, failures: CheckResult[], passDetail: string, rendition?: string): CheckResult[] {
  return failures.length > 0 ? failures : [pass(rule, passDetail, rendition)];
}

export const seconds = (value: number) => `${value.toFixed(6)} s`;
export const ms = (value: number) => `${(value * 1000).toFixed(3)} ms`;

export function mediaPlaylists(stream: StreamUnderTest): { name: string; playlist: ParsedMediaPlaylist }[] {
  const all = [...stream.renditions, ...stream.iframeStreams];
  return all.flatMap((item) => (item.playlist ? [{ name: item.name, playlist: item.playlist }] : []));
}
