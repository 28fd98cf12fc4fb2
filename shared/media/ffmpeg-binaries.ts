import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where each came from, for logs and `vodpipe doctor`-style messages. */
  source: { ffmpeg: BinarySource; ffprobe: BinarySource };
}

export type BinarySource = "configured" | "system" | "bundled";

export interface BinaryPreferences {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Skip the system PATH and use the npm-bundled builds (tests of the zero-setup path). */
  forceBundled?: boolean;
  /** PATH to search; defaults to process.env.PATH. */
  searchPath?: string;
}

const require = createRequire(import.meta.url);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function bundled(name: "ffmpeg" | "ffprobe"): string {
  const pkg = name === "ffmpeg" ? "@ffmpeg-installer/ffmpeg" : "@ffprobe-installer/ffprobe";
  const path = (require(pkg) as { path: string }).path;
  if (!isExecutable(path)) throw new Error(`the bundled ${name} at ${path} is not executable; reinstall ${pkg}`);
  return path;
}

/** Where one binary comes from: the configured path, else the first on PATH, else the npm-bundled build. */
export function locateBinary(
  name: "ffmpeg" | "ffprobe",
  configured: string | undefined,
  preferences: BinaryPreferences,
): { path: string; source: BinarySource } {
  if (configured) {
    if (!isExecutable(configured)) throw new Error(`${name} at ${configured} (configured) is not an executable file`);
    return { path: configured, source: "configured" };
  }
  if (!preferences.forceBundled) {
    const system = findOnPath(name, preferences.searchPath ?? process.env.PATH ?? "");
    if (system) return { path: system, source: "system" };
  }
  return { path: bundled(name), source: "bundled" };
}

/**
 * A system ffmpeg (configured path, then PATH) is preferred; the npm-bundled builds are the
 * fallback so `npm install` alone is enough to run. The bundled ffmpeg is a 2018 build: vodpipe
 * writes every playlist itself and uses only options that build understands.
 */
export function resolveFfmpegBinaries(preferences: BinaryPreferences = {}): FfmpegBinaries {
  const ffmpeg = locateBinary("ffmpeg", preferences.ffmpegPath, preferences);
  const ffprobe = locateBinary("ffprobe", preferences.ffprobePath, preferences);
  return { ffmpeg: ffmpeg.path, ffprobe: ffprobe.path, source: { ffmpeg: ffmpeg.source, ffprobe: ffprobe.source } };
}

/** The first line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
export function ffmpegVersion(binary: string, timeoutMs = 15_000): string {
  const out = execFileSync(binary, ["-hide_banner", "-version"], { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] });
  return out.split("\n")[0] || "unknown";
}

/** The year a build was made, from its banner ("Copyright (c) 2000-2018 the FFmpeg developers"). */
export function buildYear(versionLine: string): number | undefined {
  const match = /Copyright \(c\) (?:\d{4}-)?(\d{4})/.exec(versionLine);
  return match ? Number(match[1]) : undefined;
}

/**
 * The warning for an npm-bundled binary: those are old static builds (ffmpeg from 2018), and
 * they decode untrusted uploads with every bug fixed since. Undefined for any other binary.
 */
export function bundledBuildWarning(binaries: FfmpegBinaries, name: "ffmpeg" | "ffprobe", versionLine: string, now = new Date()): string | undefined {
  if (binaries.source[name] !== "bundled") return undefined;
  const year = buildYear(versionLine);
  const age = year === undefined ? "an old build" : `a build from ${year} (${now.getUTCFullYear() - year} years old)`;
  return (
    `using the npm-bundled ${name}, ${age}, to read untrusted uploads: install a current ffmpeg ` +
    `(Debian/Ubuntu: apt-get install ffmpeg) or set VODPIPE_${name.toUpperCase()}_PATH`
  );
}
