import { setImmediate as setImmediatePromise } from "node:timers/promises";
import { RetryableError, StaleReceiptError, type PermanentError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Queue, ReceivedMessage } from "../ports.ts";
import { createBackoff, type Backoff } from "./backoff.ts";
import { finalFailure, toDeadLetterRecord, type MessageHandler, type PermanentFailureHook } from "./types.ts";

/**
 * The long-running side of the runtime: polls a Queue (SQS or the embedded queue), runs a handler
 * per message with a visibility heartbeat, and stops gracefully. Modelled on bbc/sqs-consumer,
 * which we cannot use: it only drives an SQSClient and its current major needs Node 22.
 */
export interface WorkerOptions {
  service: string;
  queue: Queue;
  /** Where permanent failures are recorded (reason + original body), so nothing is silently dropped. */
  deadLetter?: Queue;
  handle: MessageHandler;
  logger: Logger;
  /** Handlers running at once (≥ 1). */
  concurrency: number;
  /** Long-poll wait per receive (0-20 s). */
  waitSeconds: number;
  /** How long a received message stays invisible; renewed by the heartbeat. */
  visibilityTimeoutSeconds: number;
  /** How often the heartbeat renews the visibility; must be shorter than the visibility timeout. */
  heartbeatSeconds: number;
  /** Aborts the handler's signal after this long; the message is then retried. */
  jobTimeoutSeconds?: number;
  /**
   * The queue's receive limit before it dead-letters a message (VODPIPE_MAX_RECEIVE_COUNT). A
   * failure on that last receive is settled as a permanent one, so the job ends `failed`.
   */
  maxReceiveCount?: number;
  /** Delay before a failed message is visible again, by receive count. Default: 2 s base, 5 min cap. */
  backoff?: Backoff;
  onPermanentFailure?: PermanentFailureHook;
  /** How long stop() lets running handlers finish before aborting and releasing them (default 30). */
  stopGraceSeconds?: number;
  /** Called each time a received message is settled (handled, failed for good, retried or released). */
  onSettled?: () => void;
}

export interface Worker {
  start(): void;
  /**
   * Stops receiving at once, drains (up to the grace), releases the rest; resolves when settled.
   * `abortRunning` aborts the running handlers' signals first (the ffmpeg they run is killed), so
   * they end and settle at once instead of finishing their work.
   */
  stop(options?: { abortRunning?: boolean }): Promise<void>;
  /** Handlers executing right now. */
  readonly running: number;
  /** Resolves once the worker has stopped and every message is settled. */
  readonly done: Promise<void>;
}

const MAX_RECEIVE_BATCH = 10;
const DEFAULT_STOP_GRACE_SECONDS = 30;
const MAX_RECEIVE_RETRY_SECONDS = 30;
const IDLE_POLL_MS = 1000;

interface Job {
  message: ReceivedMessage;
  logger: Logger;
  abort: AbortController;
  /**
   * handling: the handler runs; settling: deleting or rescheduling; released: given back by stop();
   * lost: the queue no longer lets this worker keep the message (another may be handling it).
   */
  phase: "handling" | "settling" | "released" | "lost";
  finished: Promise<void>;
  markFinished: () => void;
  stopTimers: () => void;
}

export function createWorker(options: WorkerOptions): Worker {
  const { service, queue, handle, concurrency, waitSeconds, visibilityTimeoutSeconds, heartbeatSeconds } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  }
  if (!(heartbeatSeconds > 0 && heartbeatSeconds < visibilityTimeoutSeconds)) {
    throw new RangeError(
      `heartbeatSeconds (${heartbeatSeconds}) must be above 0 and below visibilityTimeoutSeconds (${visibilityTimeoutSeconds})`,
    );
  }
  const backoff = options.backoff ?? createBackoff();
  const graceMs = (options.stopGraceSeconds ?? DEFAULT_STOP_GRACE_SECONDS) * 1000;
  const log = options.logger.child({ service });

  const jobs = new Set<Job>();
  const pollAbort = new AbortController();
  let handlersRunning = 0;
  let started = false;
  let stopping = false;
  let loopDone: Promise<void> = Promise.resolve();
  let stopPromise: Promise<void> | undefined;
  let wakeLoop: (() => void) | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const wake = () => {
    wakeLoop?.();
    wakeLoop = undefined;
  };

  async function loop(): Promise<void> {
    let receiveFailures = 0;
    while (!stopping) {
      // An adapter that answers without I/O (better-sqlite3 is synchronous) would otherwise let an
      // instantly failing message spin in microtasks and starve timers and signal handlers.
      await setImmediatePromise();
      if (stopping) break;
      if (jobs.size >= concurrency) {
        await new Promise<void>((resolve) => (wakeLoop = resolve));
        continue;
      }
      let messages: ReceivedMessage[];
      try {
        messages = await queue.receive({
          maxMessages: Math.min(MAX_RECEIVE_BATCH, concurrency - jobs.size),
          waitSeconds,
          visibilityTimeoutSeconds,
          signal: pollAbort.signal,
        });
        receiveFailures = 0;
      } catch (error) {
        if (stopping) break;
        receiveFailures++;
        const delaySeconds = Math.min(MAX_RECEIVE_RETRY_SECONDS, Math.max(1, backoff(receiveFailures)));
        log.error({ err: error, delaySeconds, failures: receiveFailures }, "receive failed; retrying");
        await sleep(delaySeconds * 1000, pollAbort.signal);
        continue;
      }
      if (messages.length === 0 && waitSeconds === 0) {
        // Without a long poll an empty queue would be polled in a tight loop.
        await sleep(IDLE_POLL_MS, pollAbort.signal);
        continue;
      }
      if (stopping) {
        // Arrived while stop() aborted the poll: give them straight back.
        await Promise.all(messages.map((message) => changeVisibilityLogged(message, 0, log, "release")));
        break;
      }
      for (const message of messages) startJob(message);
    }
  }

  function startJob(message: ReceivedMessage): void {
    let markFinished!: () => void;
    const job: Job = {
      message,
      logger: options.logger.child({ service, messageId: message.id, attempt: message.receiveCount }),
      abort: new AbortController(),
      phase: "handling",
      finished: new Promise<void>((resolve) => (markFinished = resolve)),
      markFinished,
      stopTimers: () => {},
    };
    jobs.add(job);
    void runJob(job);
  }

  async function runJob(job: Job): Promise<void> {
    const { message, logger: jobLog } = job;
    let extendedAt = Date.now();
    const heartbeat = setInterval(() => {
      void queue.changeVisibility(message.receiptHandle, visibilityTimeoutSeconds).then(
        () => (extendedAt = Date.now()),
        (error: unknown) => {
          // Refused outright, or failing for so long that the message is visible again: either way
          // another worker may be doing this work now, so this handler stops.
          const lost = error instanceof StaleReceiptError || Date.now() - extendedAt >= visibilityTimeoutSeconds * 1000;
          if (!lost || job.phase !== "handling") {
            jobLog.warn({ err: error, seconds: visibilityTimeoutSeconds }, "heartbeat: changing the visibility failed");
            return;
          }
          clearInterval(heartbeat);
          job.phase = "lost";
          jobLog.error({ err: error }, "heartbeat rejected: the message was lost; aborting the handler");
          job.abort.abort(new RetryableError("the worker lost its message (heartbeat rejected)", { messageId: message.id, cause: error }));
        },
      );
    }, heartbeatSeconds * 1000);
    let timeout: NodeJS.Timeout | undefined;
    if (options.jobTimeoutSeconds !== undefined) {
      const seconds = options.jobTimeoutSeconds;
      timeout = setTimeout(() => {
        // No more heartbeats: if the handler ignores the abort, the message still comes back.
        clearInterval(heartbeat);
        jobLog.warn({ jobTimeoutSeconds: seconds }, "job timed out; aborting the handler");
        job.abort.abort(new RetryableError(`job timed out after ${seconds} s`, { messageId: message.id }));
      }, seconds * 1000);
    }
    job.stopTimers = () => {
      clearInterval(heartbeat);
      clearTimeout(timeout);
    };

    const startedAt = Date.now();
    let failed = false;
    let failure: unknown;
    handlersRunning++;
    try {
      await handle(message, {
        messageId: message.id,
        receiveCount: message.receiveCount,
        logger: jobLog,
        signal: job.abort.signal,
      });
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      handlersRunning--;
      job.stopTimers();
    }

    if (job.phase === "released") {
      jobLog.warn({ err: failure }, "handler returned after its message was released; outcome ignored");
      return;
    }
    if (job.phase === "lost") {
      jobLog.warn({ err: failure }, "handler returned after its message was lost; outcome ignored");
      finish(job);
      return;
    }
    job.phase = "settling";
    try {
      // A handler aborted because the worker is stopping did not fail: it is not its last try.
      const final = failed && !stopping ? finalFailure(failure, message.receiveCount, options.maxReceiveCount) : undefined;
      if (!failed) {
        await deleteLogged(job);
        jobLog.info({ durationMs: Date.now() - startedAt }, "message handled");
      } else if (final) {
        await failPermanently(job, final);
      } else {
        await retryLater(job, failure);
      }
    } finally {
      finish(job);
    }
  }

  async function failPermanently(job: Job, error: PermanentError): Promise<void> {
    job.logger.error({ err: error }, "permanent failure; not retrying");
    try {
      await recordPermanentFailure({ service, deadLetter: options.deadLetter, onPermanentFailure: options.onPermanentFailure }, error, job.message);
    } catch (recordError) {
      job.logger.error({ err: recordError }, "could not record the permanent failure; the message will be retried");
      await retryLater(job, recordError);
      return;
    }
    await deleteLogged(job);
  }

  async function retryLater(job: Job, error: unknown): Promise<void> {
    const delaySeconds = backoff(job.message.receiveCount);
    job.logger.warn({ err: error, retryInSeconds: delaySeconds }, "handler failed; will retry");
    await changeVisibilityLogged(job.message, delaySeconds, job.logger, "retry delay");
  }

  async function deleteLogged(job: Job): Promise<void> {
    try {
      await queue.delete(job.message.receiptHandle);
    } catch (error) {
      job.logger.warn({ err: error }, "delete failed; the message will be delivered again");
    }
  }

  async function changeVisibilityLogged(message: ReceivedMessage, seconds: number, logger: Logger, why: string): Promise<void> {
    try {
      await queue.changeVisibility(message.receiptHandle, seconds);
    } catch (error) {
      logger.warn({ err: error, seconds }, `${why}: changing the visibility failed`);
    }
  }

  function finish(job: Job): void {
    jobs.delete(job);
    job.markFinished();
    wake();
    options.onSettled?.();
  }

  async function release(job: Job): Promise<void> {
    job.phase = "released";
    job.stopTimers();
    job.abort.abort(new RetryableError("the worker stopped before the handler finished", { messageId: job.message.id }));
    job.logger.warn({ stopGraceSeconds: graceMs / 1000 }, "handler outlived the stop grace; releasing its message");
    await changeVisibilityLogged(job.message, 0, job.logger, "release");
    finish(job);
  }

  function start(): void {
    if (stopping) throw new Error(`worker ${service} was stopped; create a new one`);
    if (started) return;
    started = true;
    log.info({ queue: queue.name, concurrency }, "worker started");
    loopDone = loop().catch((error: unknown) => {
      log.fatal({ err: error }, "worker loop crashed");
      void stop();
    });
  }

  function stop(options: { abortRunning?: boolean } = {}): Promise<void> {
    if (options.abortRunning) {
      for (const job of jobs) {
        if (job.phase === "handling") job.abort.abort(new RetryableError("the worker was told to stop at once", { messageId: job.message.id }));
      }
    }
    if (stopPromise) return stopPromise;
    stopping = true;
    pollAbort.abort();
    wake();
    stopPromise = (async () => {
      log.info({ running: jobs.size, abortRunning: Boolean(options.abortRunning) }, "stopping");
      const drained = await within(Promise.all([...jobs].map((job) => job.finished)), graceMs);
      if (!drained) {
        await Promise.all([...jobs].filter((job) => job.phase === "handling").map(release));
      }
      await Promise.all([...jobs].map((job) => job.finished));
      await loopDone;
      log.info("stopped");
      resolveDone();
    })();
    return stopPromise;
  }

  return {
    start,
    stop,
    get running() {
      return handlersRunning;
    },
    done,
  };
}

/**
 * What both runtimes do with a PermanentError before acking: the service's hook (mark the job
 * failed), then a record in the dead-letter queue. Throws if either fails; the caller then retries.
 */
export async function recordPermanentFailure(
  options: { service: string; deadLetter?: Queue; onPermanentFailure?: PermanentFailureHook },
  error: PermanentError,
  message: ReceivedMessage,
): Promise<void> {
  await options.onPermanentFailure?.(error, message);
  await options.deadLetter?.send(JSON.stringify(toDeadLetterRecord(options.service, error, message)));
}

/** True if `promise` settled within `ms`, false if the time ran out first. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
