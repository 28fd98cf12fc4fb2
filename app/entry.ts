import { loadConfig } from "../shared/config.ts";
import { createLogger } from "../shared/logger.ts";
import type { Stage } from "../shared/messages.ts";
import { createSqsLambdaHandler, type SqsLambdaHandler } from "../shared/consumer/lambda.ts";
import { runUntilSignalled } from "../shared/consumer/stop-signals.ts";
import { failJobHook, openPipelineEnvironment, startStageWorkers, type PipelineEnvironment } from "./environment.ts";
import { createStageHandlers } from "./stage-handlers.ts";

/** Entry for `services/<stage>/worker.ts`: poll the stage's queue until SIGTERM. */
export async function runStageWorker(stage: Stage): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  const env = await openPipelineEnvironment(config, logger);
  await runUntilSignalled(startStageWorkers(env, [stage]), logger);
  await env.close();
}

/**
 * Entry for `services/<stage>/lambda.ts`: an SQS-event Lambda handler. Clients are built on the
 * first invocation and reused while the execution environment lives. A start-up that failed (a
 * queue not created yet, a setting fixed a minute later) is not kept: the next invocation tries
 * again, while the failed one's batch returns to the queue.
 */
export function createStageLambda(stage: Stage): SqsLambdaHandler {
  let ready: Promise<{ env: PipelineEnvironment; handler: SqsLambdaHandler }> | undefined;
  const init = async () => {
    const config = loadConfig(process.env);
    const logger = createLogger({ level: config.logLevel });
    const env = await openPipelineEnvironment(config, logger);
    const handler = createSqsLambdaHandler({
      service: stage,
      handle: createStageHandlers(env.deps)[stage],
      logger,
      deadLetter: env.queueSet.deadLetters[stage],
      maxReceiveCount: config.queueSettings.maxReceiveCount,
      onPermanentFailure: failJobHook(env.deps),
    });
    return { env, handler };
  };
  return async (event, context) => {
    const starting = (ready ??= init());
    let started;
    try {
      started = await starting;
    } catch (error) {
      if (ready === starting) ready = undefined;
      throw error;
    }
    return started.handler(event, context);
  };
}
