import { PermanentError, RetryableError, publicReason } from "../errors.ts";
import { markFailed, readJob, type JobPlan, type JobRecord } from "../job.ts";
import type { Logger } from "../logger.ts";
import { parseMessageOf, type MessageType, type PipelineMessage } from "../messages.ts";
import type { ObjectStore } from "../ports.ts";
import type { HandlerContext, MessageHandler } from "../consumer/types.ts";
import type { Clock } from "./clock.ts";

export type ActiveJob = JobRecord & { plan: JobPlan; source: NonNullable<JobRecord["source"]> };

export interface JobStoreDeps {
  store: ObjectStore;
  now?: Clock;
}

/**
 * Loads the job a message is about. Returns undefined when there is nothing left to do (the job
 * already ended, e.g. a duplicate delivery after publish), so the message is simply acked.
 */
export async function loadActiveJob(deps: Pick<JobStoreDeps, "store">, videoId: string, logger: Logger): Promise<ActiveJob | undefined> {
  const job = await readJob(deps.store, videoId);
  if (!job) throw new RetryableError(`no job record for ${videoId} yet`, { videoId });
  if (job.status !== "processing") {
    logger.info({ status: job.status }, "job already ended; message dropped");
    return undefined;
  }
  if (!job.plan || !job.source) throw new PermanentError(`job ${videoId} has no plan`, { videoId });
  return job as ActiveJob;
}

/** Runs a step; a permanent failure marks the job failed (with its reason) before it propagates. */
export async function failJobOnPermanentError<T>(deps: JobStoreDeps, job: JobRecord, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof PermanentError) await markFailed(deps.store, job.videoId, publicReason(error), job, deps.now);
    throw error;
  }
}

/** What a stage's work gets once its message is parsed and its job is known to be running. */
export interface ActiveJobWork<M extends PipelineMessage> {
  message: M;
  job: ActiveJob;
  /** The context's logger with `videoId` (and the stage's own fields). */
  logger: Logger;
  context: HandlerContext;
}

/**
 * The opening every stage after ingest shares: parse a message of the stage's type, log with its
 * videoId, load the job, and stop quietly if the job already ended.
 */
export function handleActiveJob<T extends MessageType>(
  deps: Pick<JobStoreDeps, "store">,
  type: T,
  work: (input: ActiveJobWork<Extract<PipelineMessage, { type: T }>>) => Promise<void>,
  logFields: (message: Extract<PipelineMessage, { type: T }>) => Record<string, unknown> = () => ({}),
): MessageHandler {
  return async (received, context) => {
    const message = parseMessageOf(received.body, type);
    const logger = context.logger.child({ videoId: message.videoId, ...logFields(message) });
    const job = await loadActiveJob(deps, message.videoId, logger);
    if (!job) return;
    await work({ message, job, logger, context });
  };
}
