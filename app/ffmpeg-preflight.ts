import { errorMessage } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { bundledBuildWarning, ffmpegVersion, type FfmpegBinaries } from "../shared/media/ffmpeg-binaries.ts";
import { checkFfmpegCapabilities, describeMissing, FfmpegMissingCapabilityError } from "../shared/media/ffmpeg-capabilities.ts";

/**
 * Before any media runs: warn about an npm-bundled (old) build, and refuse to start on an ffmpeg
 * that lacks what every job needs, instead of failing each job later. A build that cannot be
 * asked at all only gets a warning: the jobs will say what is wrong with it.
 */
export async function preflightFfmpeg(binaries: FfmpegBinaries, logger: Logger): Promise<void> {
  for (const name of ["ffmpeg", "ffprobe"] as const) {
    if (binaries.source[name] !== "bundled") continue;
    let version = "";
    try {
      version = ffmpegVersion(binaries[name]);
    } catch {
      // The age stays unknown; the warning still goes out.
    }
    logger.warn({ [name]: binaries[name], version }, bundledBuildWarning(binaries, name, version)!);
  }
  let report;
  try {
    report = await checkFfmpegCapabilities(binaries.ffmpeg);
  } catch (error) {
    logger.warn({ ffmpeg: binaries.ffmpeg, err: errorMessage(error) }, "could not ask ffmpeg what it supports; run `vodpipe doctor`");
    return;
  }
  if (report.hdr.length > 0) logger.warn({ ffmpeg: binaries.ffmpeg, missing: report.hdr }, `HDR sources will fail: ${describeMissing(binaries.ffmpeg, report.hdr)}`);
  if (report.required.length > 0) throw new FfmpegMissingCapabilityError(describeMissing(binaries.ffmpeg, report.required));
}
