import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Config } from "../../shared/config.ts";
import { markFailed, readJob, type JobRecord } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import type { Logger } from "../../shared/logger.ts";
import { serialize } from "../../shared/messages.ts";
import { listAll } from "../../shared/ports.ts";
import { assertOutputFolderUsable, writeOutputFolder } from "./output-folder.ts";
import { cleanUpDeadRuns, openRun, type OpenedRun } from "../run-registry.ts";
import { watchDeadLetters, deadLetterReason, type DeadLetter } from "./dead-letter-watch.ts";
import { type PipelineEnvironment, openPipelineEnvironment, startStageWorkers, type EnvironmentOptions } from "../environment.ts";
import { newVideoId } from "../../shared/video-id.ts";

export interface ProcessOptions extends EnvironmentOptions {
  file: string;
  outDir?: string;
  /** Progress lines for people (stderr in the CLI). */
  progress?: (line: string) => void;
  /** How often the job is read besides after each settled message (a safety net; default 1000). */
  pollMilliseconds?: number;
  /**
   * Aborting it interrupts the run: running ffmpegs are killed, the video is marked failed (so
   * its queued messages are dropped when they come back) and nothing is published.
   */
  signal?: AbortSignal;
}

export interface ProcessResult {
  videoId: string;
  job: JobRecord;
  outDir?: string;
  /** True when options.signal ended the run. */
  interrupted?: boolean;
}

/**
 * The whole pipeline on one machine: the same queues and handlers as production, all in this
 * process. Uploads the file, waits for `ready` or `failed`, and copies the HLS tree out.
 */
export async function processFile(config: Readonly<Config>, logger: Logger, options: ProcessOptions): Promise<ProcessResult> {
  const path = resolve(options.file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`no such file: ${options.file}`);
  // Refused before any work, so a wrong --out costs nothing.
  if (options.outDir !== undefined) await assertOutputFolderUsable(options.outDir, config.dataDir);
  const opened = openRun(config, "process", { isolateQueues: true });
  try {
    const env = await openPipelineEnvironment(opened.config, logger, options);
    try {
      await cleanUpDeadRuns(config, env.deps.store, logger);
      return await runJob(env, opened, config, options);
    } finally {
      await env.close();
    }
  } finally {
    opened.close();
  }
}

async function runJob(env: PipelineEnvironment, opened: OpenedRun, config: Readonly<Config>, options: ProcessOptions): Promise<ProcessResult> {
  const path = resolve(options.file);
  const { store, queues } = env.deps;
  // The job and its parts change only in handlers: look again whenever a worker settles a message.
  const settled = createWakeup();
  const workers = startStageWorkers(env, undefined, { onSettled: settled.notify });
  const progress = options.progress ?? (() => {});
  const { signal } = options;
  const videoId = newVideoId();
  opened.run.update({ videoId });
  const sourceKey = keys.source(videoId, extname(path).toLowerCase().replace(/[^.a-z0-9]/g, "").slice(0, 6));
  // The run's queues are its own, so anything in their dead-letter queues is about this video.
  const stopWatching = new AbortController();
  const deadLetters = opened.run.record.queuePrefix
    ? watchDeadLetters(env.queueSet.deadLetters, stopWatching.signal, settled.notify)
    : () => undefined;
  {
    let ended: JobRecord | undefined;
    try {
      await store.upload(sourceKey, path);
      await queues.ingest.send(serialize({ type: "source-uploaded", version: 1, videoId, sourceKey, originalName: basename(path) }));
      progress(`vodpipe: processing ${basename(path)} as video ${videoId}`);
      ended = await waitForEnd(env.deps.store, videoId, progress, (ms) => settled.wait(ms, signal), options.pollMilliseconds ?? 1000, signal, deadLetters);
    } finally {
      stopWatching.abort();
      // Interrupted (or failing): the running handlers are aborted, so their ffmpegs die with us.
      await Promise.all(workers.map((worker) => worker.stop({ abortRunning: ended?.status !== "ready" })));
    }
    if (!ended) {
      const reason = `interrupted (${String(signal?.reason ?? "aborted")}) before it finished; nothing was published: run the command again`;
      return { videoId, job: await markFailed(store, videoId, reason, { sourceKey, originalName: basename(path) }, undefined, "interrupted"), interrupted: true };
    }
    if (ended.status !== "ready") return { videoId, job: ended };
    const outDir = resolve(options.outDir ?? join("out", videoId));
    await writeOutputFolder(outDir, config.dataDir, (dir) => copyTree(store, keys.outputPrefix(videoId), dir));
    return { videoId, job: ended, outDir };
  }
}

/** The job once it is ready or failed; undefined if `signal` is aborted first. */
async function waitForEnd(
  store: Parameters<typeof readJob>[0],
  videoId: string,
  progress: (line: string) => void,
  nextChange: (timeoutMs: number) => Promise<void>,
  pollMilliseconds: number,
  signal: AbortSignal | undefined,
  deadLetter: () => DeadLetter | undefined,
): Promise<JobRecord | undefined> {
  let last = "";
  for (;;) {
    if (signal?.aborted) return undefined;
    const job = await readJob(store, videoId);
    if (job && job.status !== "processing") return job;
    const letter = deadLetter();
    if (letter) return markFailed(store, videoId, deadLetterReason(letter), job ?? { sourceKey: "" }, undefined, "processing");
    let line = "ingesting";
    if (job?.plan) {
      const done = (await listAll(store, keys.partsPrefix(videoId))).length;
      const chunks = plural(job.plan.chunks.chunks.length, "chunk");
      const renditions = plural(job.plan.renditions.length, "rendition");
      line = `${done}/${job.plan.parts.length} parts done (${chunks} × ${renditions}${job.plan.hasAudio ? ", audio" : ""}, thumbnails)`;
      if (done === job.plan.parts.length) line = "publishing";
    }
    if (line !== last) progress(`vodpipe: ${line}`);
    last = line;
    await nextChange(pollMilliseconds);
  }
}

/**
 * A wake-up call: wait() resolves at the next notify(), after `ms`, or on abort, whichever comes
 * first. A notify() with nobody waiting is kept for the next wait(), so none is lost between a
 * look at the store and the wait that follows it.
 */
function createWakeup(): { notify: () => void; wait: (ms: number, signal?: AbortSignal) => Promise<void> } {
  let pending = false;
  let wakeWaiter: (() => void) | undefined;
  return {
    notify() {
      if (wakeWaiter) wakeWaiter();
      else pending = true;
    },
    wait(ms, signal) {
      if (pending || signal?.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolveWait) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          wakeWaiter = undefined;
          resolveWait();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
        wakeWaiter = done;
      });
    },
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Copies every object under a prefix into a new, empty folder. */
async function copyTree(store: Parameters<typeof readJob>[0], prefix: string, outDir: string): Promise<void> {
  for (const object of await listAll(store, prefix)) {
    const target = join(outDir, object.key.slice(prefix.length));
    await mkdir(dirname(target), { recursive: true });
    await store.download(object.key, target);
  }
}
