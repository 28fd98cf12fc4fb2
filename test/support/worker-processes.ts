import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { childrenOf, clockTicksPerSecond, parseProcStat } from "../../bench/measure.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A `vodpipe …` child process whose JSON log lines (stdout) are collected as they arrive. */
export interface VodpipeProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logs: Record<string, unknown>[];
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line that matches; rejects if the process exits first or after `seconds`. */
  waitForLog(what: string, match: (line: Record<string, unknown>) => boolean, seconds?: number): Promise<Record<string, unknown>>;
}

/**
 * Starts `node bin/vodpipe.js <args>` in its own process group (so a test can kill it with
 * everything it started, as when its host dies).
 */
export function startVodpipe(name: string, args: string[], env: Record<string, string>): VodpipeProcess {
  const child = spawn(process.execPath, ["bin/vodpipe.js", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const logs: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let buffered = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  child.stdout!.on("data", (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ text: line });
      }
    }
    for (const listener of [...listeners]) listener();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      resolve({ code, signal });
      for (const listener of [...listeners]) listener();
    }),
  );
  return {
    name,
    child,
    pid: child.pid!,
    logs,
    stderr: () => stderr,
    exit,
    waitForLog(what, match, seconds = 60) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${name}: timed out waiting for ${what}; stderr: ${stderr.slice(-2000)}`)), seconds * 1000);
        const check = () => {
          const found = logs.find(match);
          if (found) done(undefined, found);
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before ${what}; stderr: ${stderr.slice(-2000)}`));
          }
        };
        function done(error?: Error, line?: Record<string, unknown>) {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(line!);
        }
        listeners.add(check);
        check();
      });
    },
  };
}

/** Kills a process started by startVodpipe and its whole group (ffmpegs included), if it still runs. */
export function killGroup(proc: VodpipeProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Pids of the ffmpeg processes whose parent is `parent` (from /proc). */
export function ffmpegChildren(parent: number): number[] {
  return childrenOf(parent).filter((pid) => {
    try {
      return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"), clockTicksPerSecond()).name === "ffmpeg";
    } catch {
      return false; // the process ended while we looked
    }
  });
}
