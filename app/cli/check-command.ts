import { errorMessage } from "../../shared/errors.ts";
import { checkHls } from "../../shared/hls/check-hls.ts";
import { resolveFfmpegBinaries, type FfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";

const USAGE = "usage: vodpipe check <dir | master.m3u8>\n";

export interface CheckCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** For VODPIPE_FFMPEG_PATH (and VODPIPE_FFPROBE_PATH); defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface CheckCommandDeps {
  binaries?: Pick<FfmpegBinaries, "ffmpeg">;
}

/**
 * `vodpipe check <dir | master.m3u8>`: prints the JSON report on stdout and a one-line summary on
 * stderr. Exit status 0 when every check passes, 1 when one fails (or the check could not run),
 * 2 on a usage error.
 */
export async function runCheckCommand(
  args: string[],
  io: CheckCommandIo = { stdout: process.stdout, stderr: process.stderr },
  deps: CheckCommandDeps = {},
): Promise<number> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    io.stdout.write(USAGE);
    return 0;
  }
  const target = args[0];
  if (args.length !== 1 || !target || target.startsWith("-")) {
    io.stderr.write(USAGE);
    return 2;
  }

  try {
    const env = io.env ?? process.env;
    const binaries =
      deps.binaries ??
      resolveFfmpegBinaries({
        ...(env.VODPIPE_FFMPEG_PATH ? { ffmpegPath: env.VODPIPE_FFMPEG_PATH } : {}),
        ...(env.VODPIPE_FFPROBE_PATH ? { ffprobePath: env.VODPIPE_FFPROBE_PATH } : {}),
      });
    const report = await checkHls(target, { binaries });
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    io.stderr.write(
      report.ok
        ? `vodpipe check: ok, ${report.checks.length} checks passed\n`
        : `vodpipe check: ${report.failures.length} of ${report.checks.length} checks failed\n`,
    );
    return report.ok ? 0 : 1;
  } catch (error) {
    io.stderr.write(`vodpipe check: could not run the check: ${errorMessage(error)}\n`);
    return 1;
  }
}
