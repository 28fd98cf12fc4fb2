import { spawn } from "node:child_process";
import { basename } from "node:path";
import type { Logger } from "../logger.ts";
import { InfrastructureError, PermanentError, RetryableError } from "../errors.ts";
import { classifyToolFailure, type ToolExit, type ToolFailure } from "./tool-failure.ts";

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

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a media tool (ffmpeg, ffprobe) with an argument array, never a shell. Logs the command line;
 * on failure the error carries the exit status and the tail of stderr. Aborting kills the process.
 */
export function runProcess(binary: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { logger, signal, stderrTail = 15 } = options;
  const commandLine = [binary, ...args].map((part) => (/[\s'"]/.test(part) ? JSON.stringify(part) : part)).join(" ");
  logger?.debug({ command: commandLine }, "run");

  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RetryableError(`not started, aborted: ${commandLine}`));
      return;
    }
    const startedAt = performance.now();
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderrLines: string[] = [];
    let partial = "";

    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
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
      signal?.removeEventListener("abort", onAbort);
      reject(new InfrastructureError(`could not start ${binary}: ${error.message}`, { cause: error, reason: "a media tool (ffmpeg) could not be started on the processing server" }));
    });
    child.on("close", (code, exitSignal) => {
      signal?.removeEventListener("abort", onAbort);
      if (partial) stderrLines.push(partial);
      const stderr = stderrLines.join("\n");
      if (code === 0) {
        logger?.debug({ tool: basename(binary), durationMs: Math.round(performance.now() - startedAt) }, "media tool done");
        resolve({ stdout: Buffer.concat(stdout), stderr });
        return;
      }
      const tail = stderrLines.filter((line) => line.trim()).slice(-stderrTail).join("\n");
      const status = exitSignal ? `killed by ${exitSignal}` : `exit code ${code}`;
      const message = `${commandLine}\n${status}${tail ? `\n${tail}` : ""}`;
      logger?.warn({ command: commandLine, status, stderrTail: tail }, "media tool failed");
      if (exitSignal && !signal?.aborted) {
        reject(new ProcessCrashedError(message, exitSignal));
        return;
      }
      if (signal?.aborted) {
        reject(new RetryableError(message, { cause: signal.reason, reason: "the work was stopped before it finished" }));
        return;
      }
      const exit: ToolExit = { tool: basename(binary), code, signal: exitSignal, stderr, ...(options.task ? { task: options.task } : {}) };
      const { kind, reason } = (options.classify ?? classifyToolFailure)(exit);
      const ErrorKind = kind === "permanent" ? PermanentError : kind === "infrastructure" ? InfrastructureError : RetryableError;
      reject(new ErrorKind(message, { reason }));
    });
  });
}
