import { PermanentError, RetryableError } from "../errors.ts";
import { markFailed, readJob, type JobPlan, type JobRecord } from "../job.ts";
import type { Logger } from "../logger.ts";
import type { PipelineDeps } from "./deps.ts";

export type ActiveJob = JobRecord & { plan: JobPlan; source: NonNullable<JobRecord["source"]> };

/**
 * Loads the job a message is about. Returns undefined when there is nothing left to do (the job
 * already ended, e.g. a duplicate delivery after publish), so the message is simply acked.
 */
export async function loadActiveJob(deps: PipelineDeps, videoId: string, logger: Logger): Promise<ActiveJob | undefined> {
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
export async function failJobOnPermanentError<T>(deps: PipelineDeps, job: JobRecord, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof PermanentError) await markFailed(deps.store, job.videoId, error.message, job, deps.now);
    throw error;
  }
}
