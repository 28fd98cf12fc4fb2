import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { basename } from "node:path";
import type { Logger } from "../logger.ts";
import { InfrastructureError, PermanentError, RetryableError } from "../errors.ts";
import { classifyToolFailure, type ToolExit, type ToolFailure } from "./tool-failure.ts";
import { killGroup, trackChild } from "./child-processes.ts";

export interface RunOptions {
  logger?: Logger;
  signal?: AbortSignal;
  /** How many trailing stderr lines an error carries. */
  stderrTail?: number;
  /** What the tool is doing, for the reason people read: "cutting the video into chunks". */
  task?: string;
  /**
   * Overrides the one rule (tool-failure.ts) for a run whose failure means something else, such
   * as the checker reading our own output. Default: classifyToolFailure.
   */
  classify?: (exit: ToolExit) => ToolFailure;
  /**
   * Takes stdout as it arrives instead of collecting it (the result's stdout is then empty): for
   * output that could be too large to hold, such as a listing of every packet of a file.
   */
  onStdout?: (chunk: Buffer) => void;
  /**
   * The process (and everything it started) is killed after this long, and the run fails with a
   * ProcessTimeoutError (retryable). Callers scale it with the work (see deadlines.ts). Default 600.
   */
  deadlineSeconds?: number;
  /** After the deadline's SIGTERM, how long before SIGKILL (default 5). Aborts SIGKILL at once. */
  killGraceSeconds?: number;
  /**
   * ffmpeg only: `-progress pipe:1` is added to the arguments and each report (a block of
   * `key=value` lines: `frame`, `out_time_us`, `progress`…) is passed here; stdout is then not kept.
   */
  onProgress?: (report: Readonly<Record<string, string>>) => void;
  /**
   * Lower CPU priority (a nice value, 1-19) for bulk work that shares cores with work a viewer
   * waits for: set on the process as it starts and on its session's scheduling group.
   */
  niceness?: number;
}

/** The tool died from a signal it did not get from us (a crash, or the OOM killer). */
export class ProcessCrashedError extends RetryableError {
  override readonly name = "ProcessCrashedError";
  constructor(
    message: string,
    readonly signal: NodeJS.Signals,
  ) {
    super(message, { reason: `a media tool stopped unexpectedly (${signal}); the logs have the details` });
  }
}

/** The tool ran past its deadline and was killed: it hung, or the machine is far too slow. */
export class ProcessTimeoutError extends RetryableError {
  override readonly name = "ProcessTimeoutError";
  constructor(message: string) {
    super(message, { reason: "processing took far longer than it should and was stopped (a media tool hung)" });
  }
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

export const DEFAULT_DEADLINE_SECONDS = 600;
const DEFAULT_KILL_GRACE_SECONDS = 5;

/**
 * Runs a media tool (ffmpeg, ffprobe) with an argument array, never a shell. Logs the command line;
 * on failure the error carries the exit status and the tail of stderr. The tool runs in a process
 * group of its own, so aborting or a passed deadline kills it and anything it started.
 */
/**
 * The tool runs in a session of its own (detached), and Linux schedules each session as a group
 * of its own (autogroup): a nice value then only weighs against the tool's own threads, so the
 * group's nice is raised too. Raising either is always allowed; where neither exists (another
 * OS, a process that already ended) the tool simply runs at the usual priority.
 */
function lowerPriority(pid: number, niceness: number, logger: Logger | undefined): void {
  try {
    setPriority(pid, niceness);
  } catch (error) {
    logger?.debug({ err: error }, "could not lower the tool's priority");
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
  } catch {
    // No autogroup scheduling here: the process's own nice value is what counts.
  }
}

export function runProcess(binary: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { logger, signal, stderrTail = 15, onProgress } = options;
  if (onProgress) args = ["-progress", "pipe:1", ...args];
  const deadlineSeconds = options.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
  const graceMs = (options.killGraceSeconds ?? DEFAULT_KILL_GRACE_SECONDS) * 1000;
  const commandLine = [binary, ...args].map((part) => (/[\s'"]/.test(part) ? JSON.stringify(part) : part)).join(" ");
  logger?.debug({ command: commandLine, deadlineSeconds }, "run");

  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RetryableError(`not started, aborted: ${commandLine}`, { cause: signal.reason }));
      return;
    }
    const startedAt = performance.now();
    // detached: a process group of its own (pgid = pid), killed whole; it also keeps a terminal's
    // Ctrl-C from reaching ffmpeg before vodpipe has decided what to do.
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const untrack = child.pid === undefined ? () => {} : trackChild(child.pid, binary);
    if (options.niceness && child.pid !== undefined) lowerPriority(child.pid, options.niceness, logger);
    const stdout: Buffer[] = [];
    const stderrLines: string[] = [];
    let partial = "";
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;

    const onAbort = () => killGroup(child.pid, "SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    const deadline = setTimeout(() => {
      timedOut = true;
      logger?.warn({ command: commandLine, deadlineSeconds }, "media tool passed its deadline; killing it");
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), graceMs);
    }, deadlineSeconds * 1000);
    const cleanUp = () => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);
      // Whatever the tool left behind in its group (it exited, a child of it may not have).
      killGroup(child.pid, "SIGKILL");
      untrack();
    };

    if (onProgress) readProgressReports(child.stdout, onProgress);
    else if (options.onStdout) child.stdout.on("data", options.onStdout);
    else child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      const lines = (partial + text).split(/\r?\n|\r/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        stderrLines.push(line);
        if (stderrLines.length > 400) stderrLines.splice(0, stderrLines.length - 200);
      }
    });
    child.on("error", (error) => {
      cleanUp();
      reject(new InfrastructureError(`could not start ${binary}: ${error.message}`, { cause: error, reason: "a media tool (ffmpeg) could not be started on the processing server" }));
    });
    child.on("close", (code, exitSignal) => {
      cleanUp();
      if (partial) stderrLines.push(partial);
      const stderr = stderrLines.join("\n");
      if (code === 0 && !timedOut) {
        logger?.debug({ tool: basename(binary), durationMs: Math.round(performance.now() - startedAt) }, "media tool done");
        resolve({ stdout: Buffer.concat(stdout), stderr });
        return;
      }
      const tail = stderrLines.filter((line) => line.trim()).slice(-stderrTail).join("\n");
      const status = timedOut ? `killed after its ${deadlineSeconds} s deadline` : exitSignal ? `killed by ${exitSignal}` : `exit code ${code}`;
      const message = `${commandLine}\n${status}${tail ? `\n${tail}` : ""}`;
      logger?.warn({ command: commandLine, status, stderrTail: tail }, "media tool failed");
      if (timedOut) {
        reject(new ProcessTimeoutError(`${basename(binary)} ran longer than its ${deadlineSeconds} s deadline and was stopped\n${message}`));
        return;
      }
      if (signal?.aborted) {
        // A caller's own deadline (armed once it knew the media's length) is still a deadline.
        if (signal.reason instanceof ProcessTimeoutError) reject(new ProcessTimeoutError(`${signal.reason.message}\n${message}`));
        else reject(new RetryableError(message, { cause: signal.reason, reason: "the work was stopped before it finished" }));
        return;
      }
      if (exitSignal) {
        reject(new ProcessCrashedError(message, exitSignal));
        return;
      }
      const exit: ToolExit = { tool: basename(binary), code, signal: exitSignal, stderr, ...(options.task ? { task: options.task } : {}) };
      const { kind, reason } = (options.classify ?? classifyToolFailure)(exit);
      const ErrorKind = kind === "permanent" ? PermanentError : kind === "infrastructure" ? InfrastructureError : RetryableError;
      reject(new ErrorKind(message, { reason }));
    });
  });
}

/** ffmpeg's `-progress` output: `key=value` lines, each report ending with `progress=continue|end`. */
function readProgressReports(stdout: NodeJS.ReadableStream, onReport: (report: Readonly<Record<string, string>>) => void): void {
  let partial = "";
  let report: Record<string, string> = {};
  stdout.setEncoding("utf8");
  stdout.on("data", (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const equals = line.indexOf("=");
      if (equals <= 0) continue;
      const key = line.slice(0, equals).trim();
      report[key] = line.slice(equals + 1).trim();
      if (key === "progress") {
        onReport(report);
        report = {};
      }
    }
  });
}
