import { PermanentError, errorMessage, isInfrastructureFault, isPermanent, publicReason } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ReceivedMessage } from "../ports.ts";

/** What the runtime gives a handler along with the message. */
export interface HandlerContext {
  messageId: string;
  /** 1 on the first delivery. */
  receiveCount: number;
  /** A child logger with { service, messageId, attempt }; the handler adds videoId via logger.child. */
  logger: Logger;
  /** Aborted when the job timeout passes or the worker is force-stopped; `reason` says which. */
  signal: AbortSignal;
}

/** A service's pure handler. Throw PermanentError to fail the job for good; anything else is retried. */
export type MessageHandler = (message: ReceivedMessage, context: HandlerContext) => Promise<void>;

/**
 * Called once a handler threw a PermanentError, before the message is acked (services mark the job
 * failed here). If the hook throws, the message is retried instead, so the hook must be idempotent.
 */
export type PermanentFailureHook = (error: PermanentError, message: ReceivedMessage) => Promise<void>;

/** The JSON body the runtime sends to the dead-letter queue for a permanent failure. */
export interface DeadLetterRecord {
  reason: string;
  errorName: string;
  /** The original message body, unchanged. */
  body: string;
  messageId: string;
  receiveCount: number;
  videoId?: string;
  failedAt: string;
  service: string;
}

export function toDeadLetterRecord(
  service: string,
  error: PermanentError,
  message: ReceivedMessage,
  now: Date = new Date(),
): DeadLetterRecord {
  return {
    reason: error.message,
    errorName: error.name,
    body: message.body,
    messageId: message.id,
    receiveCount: message.receiveCount,
    ...(error.videoId === undefined ? {} : { videoId: error.videoId }),
    failedAt: now.toISOString(),
    service,
  };
}

/**
 * The last receive the queue allows failed: the queue would dead-letter the message silently and
 * its job would wait for ever, so the runtime treats the failure as permanent (the job is marked
 * failed with this reason, the message recorded in the dead-letter queue).
 */
export class RetriesExhaustedError extends PermanentError {
  override readonly name = "RetriesExhaustedError";
}

/**
 * The error the runtime settles a failed message with: a PermanentError as it is; any other
 * failure on the last allowed receive becomes a RetriesExhaustedError; otherwise undefined (retry).
 * A fault of the deployment or the machine (isInfrastructureFault) is never the video's: on its
 * last receive too it is left to the queue, which dead-letters it for an operator to redrive.
 */
export function finalFailure(error: unknown, receiveCount: number, maxReceiveCount: number | undefined): PermanentError | undefined {
  if (isPermanent(error)) return error;
  if (maxReceiveCount === undefined || receiveCount < maxReceiveCount || isInfrastructureFault(error)) return undefined;
  const attempts = receiveCount === 1 ? "its only attempt" : `all ${receiveCount} attempts`;
  return new RetriesExhaustedError(`gave up after ${attempts} failed: ${errorMessage(error)}`, {
    cause: error,
    reason: `gave up after ${attempts} failed: ${publicReason(error)}`,
    ...(error instanceof Error && "videoId" in error && typeof error.videoId === "string" ? { videoId: error.videoId } : {}),
  });
}
