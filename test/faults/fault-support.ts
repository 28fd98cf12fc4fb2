import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { keys } from "../../shared/keys.ts";
import { listAll, type ObjectStore } from "../../shared/ports.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";

/** The kinds of media-tool run the wrapper tells apart, by their arguments. */
export type ToolKind = "probe" | "split" | "lead" | "transcode" | "audio" | "thumbnails" | "publish";

/**
 * hang: never returns (a deadline must kill it); crash: dies from SIGSEGV; empty: exits 0 having
 * written nothing; slow: records its pid in `<state>/started-<kind>` and sleeps 30 s before doing
 * the work (a test kills its worker meanwhile); truncated: does the work, then empties the last
 * segment next to its last argument (the playlist) and exits 0, as after a full disk; nospace:
 * fails as ffmpeg does on a full disk (an infrastructure fault, never the video's).
 */
export type FaultAction = "hang" | "crash" | "empty" | "slow" | "truncated" | "nospace";

export interface FaultPlan {
  kind: ToolKind;
  action: FaultAction;
  /** The first `times` runs of that kind misbehave; later ones run the real tool. */
  times: number;
}

const ACTIONS: Record<FaultAction, string> = {
  hang: "exec sleep 600",
  crash: "kill -SEGV $$",
  empty: "exit 0",
  slow: 'echo $$ > "$STATE/started-$kind"; sleep 30',
  nospace: 'echo "av_interleaved_write_frame(): No space left on device" >&2; exit 1',
  truncated: `"$REAL" "$@"; for last; do :; done; : > "$(ls "$(dirname "$last")"/seg-*.ts | tail -n 1)"; exit 0`,
};

/**
 * Writes a shell script that stands in for ffmpeg or ffprobe (VODPIPE_FFMPEG_PATH,
 * VODPIPE_FFPROBE_PATH): the first `times` runs of the planned kind misbehave, then it execs the
 * real tool. Runs are counted with mkdir, which is atomic across processes.
 */
export async function writeFaultyTool(dir: string, tool: "ffmpeg" | "ffprobe", plan: FaultPlan): Promise<{ path: string; state: string }> {
  const real = resolveFfmpegBinaries()[tool];
  const state = join(dir, `${tool}-state`);
  await mkdir(state, { recursive: true });
  const path = join(dir, `faulty-${tool}-${plan.kind}-${plan.action}`);
  await writeFile(
    path,
    `#!/bin/sh
STATE='${state}'
REAL='${real}'
case " $* " in
  *" -hls_playlist_type event "*) kind=lead ;;
  *" -force_key_frames "*) kind=transcode ;;
  *" -c:a "*) kind=audio ;;
  *" rawvideo "*) kind=thumbnails ;;
  *" framecrc "*) kind=publish ;;
  *" -an "*" matroska "*) kind=split ;;
  *" -show_format "*) kind=probe ;;
  *) kind=other ;;
esac
if [ "$kind" = '${plan.kind}' ]; then
  n=0
  while ! mkdir "$STATE/run-$n" 2>/dev/null; do n=$((n + 1)); done
  if [ "$n" -lt ${plan.times} ]; then
    echo "$kind" >> "$STATE/faults"
    ${ACTIONS[plan.action]}
  fi
fi
exec "$REAL" "$@"
`,
  );
  await chmod(path, 0o755);
  return { path, state };
}

/** How many faults the wrapper injected. */
export async function faultsInjected(state: string): Promise<number> {
  const text = await readFile(join(state, "faults"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

/** Every playlist of a video's published tree, path → text (segment names and durations included). */
export async function publishedPlaylists(store: ObjectStore, videoId: string): Promise<Record<string, string>> {
  const prefix = keys.outputPrefix(videoId);
  const found: Record<string, string> = {};
  for (const object of await listAll(store, prefix)) {
    if (object.key.endsWith(".m3u8")) found[object.key.slice(prefix.length)] = (await store.getBuffer(object.key)).toString("utf8");
  }
  return found;
}

/** Every playlist in a folder, path → text. */
export async function folderPlaylists(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const name of await readdir(dir, { recursive: true })) {
    if (name.endsWith(".m3u8")) found[relative(dir, join(dir, name))] = await readFile(join(dir, name), "utf8");
  }
  return found;
}

/** True while the process exists and is not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `text` (a sandbox path): what a test left running. */
export async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(text) && (await isRunning(Number(name)))) found.push(Number(name));
  }
  return found;
}

export interface Outcome {
  suite: string;
  scenario: string;
  runs: number;
  faults: number;
  outcome: "ready" | "failed";
}

/** One line per scenario, then the totals. */
export function printFigures(suite: string, outcomes: readonly Outcome[]): void {
  const runs = outcomes.reduce((sum, o) => sum + o.runs, 0);
  const faults = outcomes.reduce((sum, o) => sum + o.faults, 0);
  const ready = outcomes.filter((o) => o.outcome === "ready").length;
  const lines = outcomes.map((o) => `  ${o.scenario}: ${o.faults} fault(s), ${o.runs} run(s) → ${o.outcome}`);
  console.log(
    `fault injection (${suite}): ${outcomes.length} scenarios, ${runs} runs, ${faults} faults injected; ` +
      `${ready} ended ready, ${outcomes.length - ready} failed with a reason; none stuck, no temp folder or process left\n${lines.join("\n")}`,
  );
}
