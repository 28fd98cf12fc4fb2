import type { PermanentError } from "../errors.ts";
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
