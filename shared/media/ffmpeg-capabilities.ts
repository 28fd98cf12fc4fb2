/**
 * What the pipeline needs from an ffmpeg build, and whether a given build has it. The question is
 * asked through fluent-ffmpeg's capability queries (`-encoders`, `-filters`, `-formats`, parsed).
 * The encodes themselves do not run through fluent-ffmpeg: they need exact argument arrays,
 * their own process group and a deadline (run-process.ts), which its command builder does not give.
 */
import { createRequire } from "node:module";
import { dirname, sep } from "node:path";
import type FluentFfmpeg from "fluent-ffmpeg";

export interface FfmpegNeeds {
  encoders: readonly string[];
  muxers: readonly string[];
  filters: readonly string[];
}

/**
 * Every encode, split and check uses these. `split` and `select` are used too, but fluent-ffmpeg's
 * filter listing skips filters with a variable number of outputs, so they cannot be asked for.
 */
export const PIPELINE_NEEDS: FfmpegNeeds = {
  encoders: ["libx264", "aac"],
  muxers: ["hls", "matroska", "mpegts", "framecrc", "rawvideo"],
  filters: ["scale", "fps", "format", "setsar", "pad", "setpts", "aresample"],
};

/** Tone mapping an HDR source to SDR (encode-args.ts): without them, HDR uploads fail. */
export const HDR_NEEDS: FfmpegNeeds = { encoders: [], muxers: [], filters: ["zscale", "tonemap"] };

export interface FfmpegCapabilities {
  encoders: ReadonlySet<string>;
  muxers: ReadonlySet<string>;
  filters: ReadonlySet<string>;
}

/** How long ffmpeg may take to list what it has; it answers in well under a second. */
const QUERY_TIMEOUT_MS = 15_000;

const require = createRequire(import.meta.url);
const modules = new Map<string, typeof FluentFfmpeg>();

/**
 * fluent-ffmpeg keeps the ffmpeg path and every answer in module state, for the whole process. A
 * fresh copy of the module per ffmpeg keeps two builds' answers apart (a test, or doctor, that
 * looks at the system and the bundled ffmpeg in one process).
 */
function fluentFor(ffmpegPath: string): typeof FluentFfmpeg {
  let fluent = modules.get(ffmpegPath);
  if (!fluent) {
    const root = dirname(require.resolve("fluent-ffmpeg/package.json")) + sep;
    for (const file of Object.keys(require.cache)) if (file.startsWith(root)) delete require.cache[file];
    fluent = require("fluent-ffmpeg") as typeof FluentFfmpeg;
    fluent.setFfmpegPath(ffmpegPath);
    modules.set(ffmpegPath, fluent);
  }
  return fluent;
}

function ask<T>(what: string, query: (callback: (error: Error | null, result: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ffmpeg did not list its ${what} within ${QUERY_TIMEOUT_MS / 1000} s`)), QUERY_TIMEOUT_MS);
    timer.unref();
    query((error, result) => {
      clearTimeout(timer);
      if (error) reject(new Error(`ffmpeg could not list its ${what}: ${error.message}`));
      else resolve(result);
    });
  });
}

/** The encoders, muxers and filters an ffmpeg binary lists. Rejects when it cannot be asked. */
export async function readFfmpegCapabilities(ffmpegPath: string): Promise<FfmpegCapabilities> {
  const fluent = fluentFor(ffmpegPath);
  const encoders = await ask<FluentFfmpeg.Encoders>("encoders", (callback) => fluent.getAvailableEncoders(callback));
  if (Object.keys(encoders).length === 0) throw new Error(`${ffmpegPath} listed no encoders: is it ffmpeg?`);
  const formats = await ask<FluentFfmpeg.Formats>("formats", (callback) => fluent.getAvailableFormats(callback));
  const filters = await ask<FluentFfmpeg.Filters>("filters", (callback) => fluent.getAvailableFilters(callback));
  return {
    encoders: new Set(Object.keys(encoders)),
    muxers: new Set(Object.entries(formats).filter(([, format]) => format.canMux).map(([name]) => name)),
    filters: new Set(Object.keys(filters)),
  };
}

/** What of `needs` the build lacks, as "encoder libx264", "muxer hls", "filter zscale". */
export function missingFrom(capabilities: FfmpegCapabilities, needs: FfmpegNeeds): string[] {
  return [
    ...needs.encoders.filter((name) => !capabilities.encoders.has(name)).map((name) => `encoder ${name}`),
    ...needs.muxers.filter((name) => !capabilities.muxers.has(name)).map((name) => `muxer ${name}`),
    ...needs.filters.filter((name) => !capabilities.filters.has(name)).map((name) => `filter ${name}`),
  ];
}

export class FfmpegMissingCapabilityError extends Error {
  override readonly name = "FfmpegMissingCapabilityError";
}

export interface CapabilityReport {
  /** The pipeline cannot encode without these. */
  required: string[];
  /** HDR sources fail without these. */
  hdr: string[];
}

/** Checks a build against what the pipeline needs. */
export async function checkFfmpegCapabilities(ffmpegPath: string): Promise<CapabilityReport> {
  const capabilities = await readFfmpegCapabilities(ffmpegPath);
  return { required: missingFrom(capabilities, PIPELINE_NEEDS), hdr: missingFrom(capabilities, HDR_NEEDS) };
}

export function describeMissing(ffmpegPath: string, missing: readonly string[]): string {
  return `the ffmpeg at ${ffmpegPath} lacks ${missing.join(", ")}; install a full build (Debian/Ubuntu: apt-get install ffmpeg) or point VODPIPE_FFMPEG_PATH at one`;
}
