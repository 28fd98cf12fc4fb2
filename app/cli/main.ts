import { loadConfig, type Config } from "../../shared/config.ts";
import { ConfigError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/logger.ts";
import { STAGES, type Stage } from "../../shared/messages.ts";
import { setupQueues } from "../../shared/queue/queue-set.ts";
import { openPipelineEnvironment, startStageWorkers } from "../environment.ts";
import { exitCodeForSignal, onStopSignals, runUntilSignalled } from "../../shared/consumer/stop-signals.ts";
import { FfmpegMissingCapabilityError } from "../../shared/media/ffmpeg-capabilities.ts";
import { runCheckCommand } from "./check-command.ts";
import { runDoctorCommand } from "./doctor-command.ts";
import { createApiDeps, startApiServer } from "../api-server.ts";
import { cleanUpDeadRuns, openRun } from "../run-registry.ts";
import { processFiles } from "./process-command.ts";
import { createProgressDisplay, fileLabels } from "./progress-display.ts";
import type { JobRecord } from "../../shared/job.ts";
import { OutputFolderError } from "./output-folder.ts";
import { runQueuesCommand, runRedriveCommand } from "./queues-command.ts";
import { runSubmitCommand } from "./submit-command.ts";

const USAGE = `usage: vodpipe <command>

  process <file…> [--out <dir>]  run the whole pipeline on files, here, and write their HLS trees
  check <dir | master.m3u8>      check an HLS tree against Apple's authoring rules (JSON report)
  start                          the HTTP API (PORT, default 8080) and every stage's worker, until Ctrl-C
  api                            the HTTP API alone (workers run elsewhere: S3 + SQS)
  worker <stage>                 run one stage's worker (${STAGES.join(", ")})
  setup                          create the queues (SQS: with dead-letter queues); safe to repeat
  submit <file… | s3://bucket/prefix>
                                 queue videos for the workers (one job each, duplicates skipped)
  queues [--json]                each stage's waiting, in-flight, delayed and dead-lettered messages
  redrive <stage>                move a stage's dead-lettered messages back to its queue
  doctor                         which ffmpeg/ffprobe are used and why, what they lack, folders, endpoints

Configuration comes from VODPIPE_* environment variables (see the README).`;

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    io.stdout.write(`${USAGE}\n`);
    return command ? 0 : 64;
  }
  if (command === "check") return runCheckCommand(rest, io);

  let config: Readonly<Config>;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`vodpipe: configuration error: ${error.message}\n`);
      return 78;
    }
    throw error;
  }

  try {
    return await runConfigured(command, rest, config, io);
  } catch (error) {
    if (!(error instanceof FfmpegMissingCapabilityError)) throw error;
    io.stderr.write(`vodpipe: ${error.message}\n`);
    return 69;
  }
}

async function runConfigured(command: string, rest: string[], config: Readonly<Config>, io: Io): Promise<number> {
  switch (command) {
    case "doctor":
      return runDoctorCommand(config, io);
    case "process":
      return runProcess(rest, config, io);
    case "setup": {
      const result = await setupQueues(config);
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    case "submit":
      return runSubmitCommand(rest, config, io);
    case "queues":
      return runQueuesCommand(rest, config, io);
    case "redrive":
      return runRedriveCommand(rest, config, io, createLogger({ level: io.env.VODPIPE_LOG_LEVEL ? config.logLevel : "warn", destination: io.stderr }));
    case "start":
    case "api":
      return runServer(command, config, io);
    case "worker": {
      const stages: readonly Stage[] = rest.filter((s): s is Stage => (STAGES as readonly string[]).includes(s));
      if (stages.length === 0 || stages.length !== rest.length) {
        io.stderr.write(`vodpipe worker: name one or more stages: ${STAGES.join(", ")}\n`);
        return 64;
      }
      const logger = createLogger({ level: config.logLevel });
      // Recorded in the data folder, so whoever starts next can clean up if this one is killed.
      const opened = openRun(config, command, { isolateQueues: false });
      try {
        const env = await openPipelineEnvironment(opened.config, logger);
        await cleanUpDeadRuns(config, env.deps.store, logger);
        const workers = startStageWorkers(env, stages);
        logger.info({ stages, store: env.deps.store.description }, "workers started");
        await runUntilSignalled(workers, logger);
        await env.close();
      } finally {
        opened.close();
      }
      return 0;
    }
    default:
      io.stderr.write(`vodpipe: unknown command ${command}\n${USAGE}\n`);
      return 64;
  }
}

/**
 * `start`: the API and every stage's worker in this process; `api`: the API alone. The first
 * Ctrl-C (or SIGTERM) stops accepting requests and aborts running handlers (their ffmpegs are
 * killed and their messages go back to the queue for the next start); a second quits at once.
 */
async function runServer(command: "start" | "api", config: Readonly<Config>, io: Io): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  const env = await openPipelineEnvironment(config, logger);
  const workers = command === "start" ? startStageWorkers(env, STAGES) : [];
  let server;
  try {
    server = await startApiServer(await createApiDeps(config, logger, env.deps.store, env.queueSet));
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.stop({ abortRunning: true })));
    await env.close();
    throw error;
  }
  io.stdout.write(`vodpipe ${command === "start" ? "(API and workers)" : "API"} listening on ${server.url}  (Ctrl-C stops)\n`);
  let removeHandlers = () => {};
  // A second signal while stopping quits at once, as everywhere else.
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    removeHandlers = onStopSignals(resolveSignal, () => logger.warn("second signal; exiting without waiting"));
  });
  logger.info({ signal }, "stopping");
  await Promise.all([server.close(), ...workers.map((worker) => worker.stop({ abortRunning: true }))]);
  await env.close();
  removeHandlers();
  return 0;
}

async function runProcess(args: string[], config: Readonly<Config>, io: Io): Promise<number> {
  const files: string[] = [];
  let outDir: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === "--out" || arg === "-o") outDir = args[++i];
    else if (arg.startsWith("--out=")) outDir = arg.slice(6);
    else if (arg.startsWith("-") && arg !== "-") {
      io.stderr.write(`vodpipe process: unknown option ${arg}\n`);
      return 64;
    } else files.push(arg);
  }
  if (files.length === 0 || (outDir !== undefined && !outDir)) {
    io.stderr.write("usage: vodpipe process <file…> [--out <dir>]\n");
    return 64;
  }
  // Logs go to stderr at warn level here: the person at the terminal wants progress, not JSON.
  const logger = createLogger({ level: io.env.VODPIPE_LOG_LEVEL ? config.logLevel : "warn", destination: io.stderr });
  // Ctrl-C or a supervisor's SIGTERM: stop cleanly, so no ffmpeg is left running on its own.
  const interrupt = new AbortController();
  const removeHandlers = onStopSignals((signal) => {
    io.stderr.write(`vodpipe: ${signal}: stopping (again to quit at once)\n`);
    interrupt.abort(signal);
  });
  const terminal = (stream: NodeJS.WritableStream) => (stream as { isTTY?: boolean }).isTTY === true;
  const display = createProgressDisplay({
    stream: io.stderr,
    // Redrawn in place only when a person watches; plain lines in logs and pipes.
    interactive: terminal(io.stdout) && terminal(io.stderr),
    labels: fileLabels(files),
    columns: (io.stderr as { columns?: number }).columns,
  });
  let outcome;
  try {
    outcome = await processFiles(config, logger, { files, outDir, onProgress: display.update, signal: interrupt.signal });
  } catch (error) {
    if (!(error instanceof OutputFolderError)) throw error;
    io.stderr.write(`vodpipe process: ${error.message}\n`);
    return 73;
  } finally {
    display.close();
    removeHandlers();
  }
  if (outcome.interrupted) {
    const videos = outcome.results.filter((result) => result.job.status !== "ready").map((result) => result.videoId);
    const which = videos.length === 1 ? `video ${videos[0]} is` : `videos ${videos.join(", ")} are`;
    io.stderr.write(`vodpipe: interrupted; ${which} marked failed and nothing was published\n`);
    return exitCodeForSignal(interrupt.signal.reason as NodeJS.Signals);
  }
  const kinds = outcome.results.map((result) => resultKind(result.job));
  if (files.length > 1) {
    const counts = (["ready", "rejected", "failed"] as const).filter((kind) => kinds.includes(kind)).map((kind) => `${kinds.filter((k) => k === kind).length} ${kind}`);
    io.stderr.write(`vodpipe: ${files.length} files: ${counts.join(", ")}\n`);
  }
  for (const [index, result] of outcome.results.entries()) {
    if (kinds[index] === "ready") {
      if (files.length > 1) io.stderr.write(`vodpipe: ready ${result.file}: ${result.outDir}/master.m3u8\n`);
      io.stdout.write(`${result.outDir}/master.m3u8\n`);
    } else {
      io.stderr.write(`vodpipe: ${kinds[index]} ${result.file}: ${result.job.reason ?? "unknown reason"}\n`);
    }
  }
  // A failure that is not the input's (retries used up) outranks a rejected input.
  if (kinds.includes("failed")) return 1;
  if (kinds.includes("rejected")) return 2;
  return 0;
}

/** ready; rejected (the input cannot be made into a video); failed (vodpipe could not finish it). */
function resultKind(job: JobRecord): "ready" | "rejected" | "failed" {
  if (job.status === "ready") return "ready";
  const because = job.failedBecause ?? "input";
  return because === "input" ? "rejected" : "failed";
}
