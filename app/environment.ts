import { mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { Config } from "../shared/config.ts";
import { markFailed } from "../shared/job.ts";
import { createSender } from "../shared/pipeline/senders.ts";
import { announceVideoEvent } from "../shared/webhook/announce.ts";
import { InvalidMessageError, publicReason } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { isVideoId, STAGES, type Stage } from "../shared/messages.ts";
import type { ObjectStore, Queue } from "../shared/ports.ts";
import { resolveFfmpegBinaries, type FfmpegBinaries } from "../shared/media/ffmpeg-binaries.ts";
import { openQueueSet, type QueueSet } from "../shared/queue/queue-set.ts";
import { createObjectStore } from "../shared/storage/create-object-store.ts";
import { createWorker, type Worker, type WorkerOptions } from "../shared/consumer/worker.ts";
import { RetriesExhaustedError, type PermanentFailureHook } from "../shared/consumer/types.ts";
import type { Clock } from "../shared/pipeline/clock.ts";
import { preflightFfmpeg } from "./ffmpeg-preflight.ts";
import { createStageHandlers } from "./stage-handlers.ts";

/** Everything the process built, from which each stage's handler gets its share. */
export interface PipelineDeps {
  store: ObjectStore;
  queues: Readonly<Record<Stage, Queue>>;
  binaries: FfmpegBinaries;
  config: Readonly<Config>;
  logger: Logger;
  /** ffmpeg threads per process while transcodes run side by side. */
  threads: number;
  /** ffmpeg threads for a transcode that has the machine to itself (a job with a single chunk). */
  soloThreads: number;
  now?: Clock;
}

export interface PipelineEnvironment {
  deps: PipelineDeps;
  queueSet: QueueSet;
  close(): Promise<void>;
}

export interface EnvironmentOptions {
  /** Use the npm-bundled ffmpeg/ffprobe even if a system one exists (tests of the zero-setup path). */
  forceBundledFfmpeg?: boolean;
  store?: ObjectStore;
  binaries?: FfmpegBinaries;
  /** Wraps the queues services send to (tests: deliver every message twice). */
  decorateQueue?: (queue: Queue) => Queue;
}

/** Builds the store, the queues and the ffmpeg binaries from a validated config. */
export async function openPipelineEnvironment(config: Readonly<Config>, logger: Logger, options: EnvironmentOptions = {}): Promise<PipelineEnvironment> {
  const store = options.store ?? createObjectStore(config);
  const binaries =
    options.binaries ??
    resolveFfmpegBinaries({
      ffmpegPath: config.ffmpeg.ffmpegPath,
      ffprobePath: config.ffmpeg.ffprobePath,
      forceBundled: options.forceBundledFfmpeg,
    });
  await preflightFfmpeg(binaries, logger);
  // A VODPIPE_TMP_DIR that does not exist yet is made, as the data folder is; else every job would fail on it.
  if (config.ffmpeg.tmpDir) await mkdir(config.ffmpeg.tmpDir, { recursive: true });
  const queueSet = await openQueueSet(config);
  // Each ffmpeg gets its share of the cores: single-threaded encoders side by side spend less CPU
  // per frame than frame-threaded ones competing for the same cores (bench/README.md).
  const threads = config.ffmpeg.threads || Math.max(1, Math.floor(availableParallelism() / config.worker.transcodeConcurrency));
  const soloThreads = config.ffmpeg.threads || availableParallelism();
  logger.debug({ store: store.description, ffmpeg: binaries.ffmpeg, ffprobe: binaries.ffprobe, threads }, "pipeline environment");
  const decorate = options.decorateQueue;
  const queues = decorate
    ? (Object.fromEntries(STAGES.map((stage) => [stage, decorate(queueSet.queues[stage])])) as Record<Stage, Queue>)
    : queueSet.queues;
  return {
    deps: { store, queues, binaries, config, logger, threads, soloThreads },
    queueSet,
    close: () => queueSet.close(),
  };
}

/** Invalid messages that still name a video fail that video, so it never waits forever. */
export function failJobHook(deps: PipelineDeps): PermanentFailureHook {
  return async (error, message) => {
    let videoId = error.videoId;
    if (!videoId) {
      try {
        const parsed = JSON.parse(message.body) as { videoId?: unknown };
        if (isVideoId(parsed.videoId)) videoId = parsed.videoId;
      } catch {
        // Not JSON: nothing to attribute it to; the dead-letter record keeps it.
      }
    }
    const because = error instanceof RetriesExhaustedError || error instanceof InvalidMessageError ? "processing" : "input";
    if (!videoId) return;
    const job = await markFailed(deps.store, videoId, publicReason(error), { sourceKey: "" }, deps.now, because);
    // Every failure reaches this hook (each stage marks its own first), so this is where it is announced.
    if (job.status === "failed") await announceVideoEvent(createSender("webhook", deps.queues.webhook), job, job.updatedAt);
  };
}

/** Starts one worker per stage (or the given stages), polling their queues in this process. */
export function startStageWorkers(
  env: PipelineEnvironment,
  stages: readonly Stage[] = STAGES,
  hooks: Pick<WorkerOptions, "onSettled"> = {},
): Worker[] {
  const { deps, queueSet } = env;
  const handlers = createStageHandlers(deps);
  const { config } = deps;
  return stages.map((stage) => {
    const worker = createWorker({
      service: stage,
      queue: queueSet.queues[stage],
      deadLetter: queueSet.deadLetters[stage],
      handle: handlers[stage],
      logger: deps.logger,
      concurrency: stage === "transcode" ? config.worker.transcodeConcurrency : config.worker.concurrency,
      waitSeconds: config.queueSettings.waitSeconds,
      visibilityTimeoutSeconds: config.queueSettings.visibilityTimeoutSeconds,
      heartbeatSeconds: config.worker.heartbeatSeconds,
      maxReceiveCount: config.queueSettings.maxReceiveCount,
      jobTimeoutSeconds: config.worker.jobTimeoutSeconds,
      onPermanentFailure: failJobHook(deps),
      onSettled: hooks.onSettled,
    });
    worker.start();
    return worker;
  });
}
