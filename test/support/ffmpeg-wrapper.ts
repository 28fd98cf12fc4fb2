import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";

/**
 * Stand-ins for ffmpeg (VODPIPE_FFMPEG_PATH) that change one kind of run and exec the real tool:
 * a shell `case` on the arguments, one branch per kind of run, the first that matches wins.
 */

const run = promisify(execFile);

/** A generated clip with a moving picture and a tone: H.264 + AAC in MP4, a keyframe every second. */
export async function writeTestClip(path: string, options: { seconds: number; size?: string; sound?: boolean }): Promise<void> {
  const { seconds, size = "640x360", sound = true } = options;
  await run(resolveFfmpegBinaries().ffmpeg, [
    "-v", "error", "-nostdin", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=30:duration=${seconds}`,
    ...(sound ? ["-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`] : []),
    "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
    ...(sound ? ["-c:a", "aac", "-shortest"] : []),
    path,
  ]);
}

/** Writes the stand-in: `branches` are `case` branches (see below), tried in order. */
export async function writeFfmpegWrapper(path: string, branches: readonly string[]): Promise<void> {
  await writeFile(path, `#!/bin/sh\ncase " $* " in\n${branches.join("")}esac\nexec '${resolveFfmpegBinaries().ffmpeg}' "$@"\n`);
  await chmod(path, 0o755);
}

/**
 * The lead rung's encode (the one run with an EVENT playlist) reads its input at `rate`× real
 * time (`-readrate`), so its segments come at a known pace whatever the machine's speed.
 */
export function leadRungAtRate(rate: number): string {
  return `  *" -hls_playlist_type event "*)
    for arg do
      shift
      [ "$arg" = "-i" ] && set -- "$@" -readrate ${rate}
      set -- "$@" "$arg"
    done ;;
`;
}

export interface SnapshotOptions {
  /** Where the photographs go: `<snapshots>/<n>/` for the n-th chunk transcode (0 first). */
  snapshots: string;
  /** The embedded store's objects folder. */
  objects: string;
  /** A shell test on `$n`: which photographs wait for `waitFor` (a minute at most). */
  waitWhen: string;
  /** Globs under `objects` that must all exist before those photographs are taken. */
  waitFor: readonly string[];
}

/**
 * Each chunk's transcode (a run with forced keyframes) first photographs the published tree: the
 * job, the list of files and every playlist, what a player would have found at that moment.
 */
export function snapshotChunkTranscodes(options: SnapshotOptions): string {
  const { snapshots, objects } = options;
  const present = options.waitFor.map((glob) => `ls "${objects}"/${glob}`).join(" && ");
  return `  *" -force_key_frames "*)
    n=0
    while ! mkdir "${snapshots}/$n" 2>/dev/null; do n=$((n + 1)); done
    i=0
    while ${options.waitWhen} && [ $i -lt 600 ] && ! { ${present}; } >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
    cp "${objects}"/videos/*/job.json "${snapshots}/$n/job.json"
    for hls in "${objects}"/videos/*/hls; do
      [ -d "$hls" ] || continue
      (cd "$hls" && find . -type f | sort > "${snapshots}/$n/files.txt" && find . -name '*.m3u8' | while read p; do mkdir -p "${snapshots}/$n/$(dirname "$p")"; cp "$p" "${snapshots}/$n/$p"; done)
    done ;;
`;
}
