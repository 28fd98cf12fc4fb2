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

function locate(
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
  const ffmpeg = locate("ffmpeg", preferences.ffmpegPath, preferences);
  const ffprobe = locate("ffprobe", preferences.ffprobePath, preferences);
  return { ffmpeg: ffmpeg.path, ffprobe: ffprobe.path, source: { ffmpeg: ffmpeg.source, ffprobe: ffprobe.source } };
}

/** The first line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
export function ffmpegVersion(binary: string): string {
  const out = execFileSync(binary, ["-hide_banner", "-version"], { encoding: "utf8" });
  return out.split("\n")[0] ?? "unknown";
}
