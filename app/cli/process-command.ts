import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Config } from "../../shared/config.ts";
import { markFailed, readJob, type JobRecord } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import type { Logger } from "../../shared/logger.ts";
import { serialize } from "../../shared/messages.ts";
import { listAll, type ObjectStore } from "../../shared/ports.ts";
import type { FileProgress } from "./progress-display.ts";
import { sourceKeyForFile } from "./submit-command.ts";
import { assertOutputFolderUsable, writeOutputFolder } from "./output-folder.ts";
import { cleanUpDeadRuns, openRun, type OpenedRun } from "../run-registry.ts";
import { deadLetterReason, watchDeadLetters, type DeadLetter } from "./dead-letter-watch.ts";
import { type PipelineEnvironment, openPipelineEnvironment, startStageWorkers, type EnvironmentOptions } from "../environment.ts";
import { newVideoId } from "../../shared/video-id.ts";
import { readVideoProgress } from "../../shared/progress/progress-records.ts";
import { originalBody } from "../../shared/queue/queue-operations.ts";
import { videoIdsOf } from "./queues-command.ts";

export interface ProcessOptions extends EnvironmentOptions {
  file: string;
  outDir?: string;
  /** A line for people each time the video's stage changes (stderr in the bench). */
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

export interface ProcessFilesOptions extends Omit<ProcessOptions, "file" | "progress"> {
  files: readonly string[];
  /** Several files: each file's tree goes in a folder named after it inside this one. */
  outDir?: string;
  /** Each file's progress (by its index in `files`) whenever it is looked at. */
  onProgress?: (index: number, progress: FileProgress) => void;
}

export interface ProcessFilesResult {
  /** In the order of `files`. */
  results: Array<ProcessResult & { file: string }>;
  interrupted: boolean;
}

/** The whole pipeline on one file here; see processFiles. */
export async function processFile(config: Readonly<Config>, logger: Logger, options: ProcessOptions): Promise<ProcessResult> {
  const { file, progress, ...rest } = options;
  let lastStage = "";
  const { results, interrupted } = await processFiles(config, logger, {
    ...rest,
    files: [file],
    onProgress: (_index, state) => {
      if (state.stage !== lastStage) progress?.(`vodpipe: ${state.stage}`);
      lastStage = state.stage;
    },
  });
  const { file: _file, ...result } = results[0]!;
  return interrupted ? { ...result, interrupted } : result;
}

/**
 * The whole pipeline on one machine, for any number of files at once: the same queues and
 * handlers as production, all in this process. Uploads every file, waits until each is `ready`
 * or `failed`, and copies each ready tree out.
 */
export async function processFiles(config: Readonly<Config>, logger: Logger, options: ProcessFilesOptions): Promise<ProcessFilesResult> {
  const paths = options.files.map((file) => resolve(file));
  for (const [index, path] of paths.entries()) {
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`no such file: ${options.files[index]}`);
  }
  const videoIds = paths.map(() => newVideoId());
  const outDirs = outputFolders(paths, options.outDir, videoIds);
  // Refused before any work, so a wrong --out costs nothing.
  if (options.outDir !== undefined) for (const outDir of outDirs) await assertOutputFolderUsable(outDir, config.dataDir);
  const opened = openRun(config, "process", { isolateQueues: true });
  try {
    const env = await openPipelineEnvironment(opened.config, logger, options);
    try {
      await cleanUpDeadRuns(config, env.deps.store, logger);
      opened.run.update({ videoIds: [...videoIds] });
      return await runJobs(env, opened, config, options, { paths, videoIds, outDirs });
    } finally {
      await env.close();
    }
  } finally {
    opened.close();
  }
}

async function runJobs(
  env: PipelineEnvironment,
  opened: OpenedRun,
  config: Readonly<Config>,
  options: ProcessFilesOptions,
  { paths, videoIds, outDirs }: { paths: readonly string[]; videoIds: readonly string[]; outDirs: readonly string[] },
): Promise<ProcessFilesResult> {
  const { store, queues } = env.deps;
  // The jobs and their parts change only in handlers: look again whenever a worker settles a message.
  const settled = createWakeup();
  const workers = startStageWorkers(env, undefined, { onSettled: settled.notify });
  const report = options.onProgress ?? (() => {});
  const { signal } = options;
  const ended: Array<JobRecord | undefined> = paths.map(() => undefined);
  // The run's queues are its own, so anything in their dead-letter queues is about its videos.
  const stopWatching = new AbortController();
  const deadLetters = opened.run.record.queuePrefix ? watchDeadLetters(env.queueSet.deadLetters, stopWatching.signal, settled.notify) : () => [];
  try {
    for (const [index, path] of paths.entries()) {
      if (signal?.aborted) break;
      report(index, { percent: 0, stage: "uploading", etaSeconds: null });
      const sourceKey = sourceKeyForFile(videoIds[index]!, path);
      await store.upload(sourceKey, path);
      await queues.ingest.send(serialize({ type: "source-uploaded", version: 1, videoId: videoIds[index]!, sourceKey, originalName: basename(path) }));
      report(index, { percent: 0, stage: "queued", etaSeconds: null });
    }
    const watch = { store, videoIds, ended, report, deadLetters, pollMilliseconds: options.pollMilliseconds ?? 1000, signal };
    await waitForEnds(watch, (ms) => settled.wait(ms, signal));
  } finally {
    stopWatching.abort();
    // Interrupted, or a video failed: the running handlers are aborted, so their ffmpegs die with us.
    const abortRunning = ended.some((job) => job?.status !== "ready");
    await Promise.all(workers.map((worker) => worker.stop({ abortRunning })));
  }
  const interrupted = ended.some((job) => job === undefined);
  const results = await Promise.all(
    paths.map(async (path, index) => {
      const videoId = videoIds[index]!;
      const base = { file: options.files[index]!, videoId };
      const job = ended[index];
      if (!job) {
        const reason = `interrupted (${String(signal?.reason ?? "aborted")}) before it finished; nothing was published: run the command again`;
        const fallback = { sourceKey: sourceKeyForFile(videoId, path), originalName: basename(path) };
        return { ...base, job: await markFailed(store, videoId, reason, fallback, undefined, "interrupted") };
      }
      if (job.status !== "ready") return { ...base, job };
      await writeOutputFolder(outDirs[index]!, config.dataDir, (dir) => copyTree(store, keys.outputPrefix(videoId), dir));
      return { ...base, job, outDir: outDirs[index]! };
    }),
  );
  return { results, interrupted };
}

/**
 * Where each file's tree goes: one file, `outDir` itself; several, a folder per file inside
 * `outDir` named after it (`clip.mp4` → `clip`, `clip-2` for a second `clip.mov`). Without
 * `outDir`, `out/<videoId>`.
 */
export function outputFolders(paths: readonly string[], outDir: string | undefined, videoIds: readonly string[]): string[] {
  if (outDir === undefined) return videoIds.map((videoId) => resolve("out", videoId));
  if (paths.length === 1) return [resolve(outDir)];
  const taken = new Set<string>();
  return paths.map((path) => {
    const stem = basename(path, extname(path)).replace(/[^\p{L}\p{N}._ -]/gu, "_").replace(/^[.\s]+/, "") || "video";
    let name = stem;
    for (let n = 2; taken.has(name.toLowerCase()); n += 1) name = `${stem}-${n}`;
    taken.add(name.toLowerCase());
    return resolve(outDir, name);
  });
}

interface EndWatch {
  store: ObjectStore;
  videoIds: readonly string[];
  ended: Array<JobRecord | undefined>;
  report: (index: number, progress: FileProgress) => void;
  deadLetters: () => readonly DeadLetter[];
  pollMilliseconds: number;
  signal: AbortSignal | undefined;
}

/** Fills `ended` as the videos end; returns when all have, or when `signal` aborts. */
async function waitForEnds(watch: EndWatch, nextChange: (timeoutMs: number) => Promise<void>): Promise<void> {
  const { store, videoIds, ended, report, signal } = watch;
  const end = (index: number, job: JobRecord) => {
    ended[index] = job;
    report(index, { percent: job.status === "ready" ? 100 : 0, stage: job.status, etaSeconds: null });
  };
  while (!signal?.aborted && ended.some((job) => job === undefined)) {
    const letters = watch.deadLetters();
    await Promise.all(
      videoIds.map(async (videoId, index) => {
        if (ended[index]) return;
        const job = await readJob(store, videoId);
        if (job && job.status !== "processing") return end(index, job);
        const letter = letters.find((found) => isAbout(found, videoId, videoIds));
        if (letter) return end(index, await markFailed(store, videoId, deadLetterReason(letter), job ?? { sourceKey: "" }, undefined, "processing"));
        const progress = await readVideoProgress(store, job, job ? "processing" : "queued", Date.now());
        report(index, { percent: progress.percent, stage: progress.stage ?? "processing", etaSeconds: progress.etaSeconds });
      }),
    );
    if (ended.every((job) => job !== undefined)) return;
    await nextChange(watch.pollMilliseconds);
  }
}

/** Whether a dead letter ends this video of a run: it names it, or names no video of the run at all (then every one). */
export function isAbout(letter: DeadLetter, videoId: string, videoIds: readonly string[]): boolean {
  const named = videoIdsOf(originalBody(letter.body));
  return named.includes(videoId) || !named.some((id) => videoIds.includes(id));
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

/** Copies every object under a prefix into a new, empty folder. */
async function copyTree(store: ObjectStore, prefix: string, outDir: string): Promise<void> {
  for (const object of await listAll(store, prefix)) {
    const target = join(outDir, object.key.slice(prefix.length));
    await mkdir(dirname(target), { recursive: true });
    await store.download(object.key, target);
  }
}
