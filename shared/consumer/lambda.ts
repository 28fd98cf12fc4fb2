import { RetryableError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Queue, ReceivedMessage } from "../ports.ts";
import { finalFailure, type MessageHandler, type PermanentFailureHook } from "./types.ts";
import { recordPermanentFailure } from "./worker.ts";

/**
 * The Lambda side of the runtime: an SQS event source mapping with ReportBatchItemFailures.
 * Failed records are returned in batchItemFailures so only they come back (after the queue's
 * visibility timeout); permanent failures are recorded and acked, like the worker does
 * (aws-powertools processPartialResponse, middy sqs-partial-batch-failure).
 */

/** The fields of an SQS event record this adapter reads (aws-lambda's SQSRecord has more). */
export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: {
    ApproximateReceiveCount: string;
    SentTimestamp: string;
    [name: string]: string | undefined;
  };
  eventSourceARN: string;
}

export interface SqsEvent {
  Records: SqsRecord[];
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The part of the Lambda context object this adapter reads. */
export interface LambdaContextLike {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

export interface SqsLambdaOptions {
  service: string;
  handle: MessageHandler;
  logger: Logger;
  deadLetter?: Queue;
  onPermanentFailure?: PermanentFailureHook;
  /** The queue's redrive maxReceiveCount: a failure on that receive fails the job (see WorkerOptions). */
  maxReceiveCount?: number;
  /** The handler's signal aborts this long before the invocation's deadline (default 1000 ms). */
  deadlineMarginMs?: number;
}

export type SqsLambdaHandler = (event: SqsEvent, context?: LambdaContextLike) => Promise<SqsBatchResponse>;

const DEFAULT_DEADLINE_MARGIN_MS = 1000;

export function createSqsLambdaHandler(options: SqsLambdaOptions): SqsLambdaHandler {
  const { service, handle, logger } = options;
  const marginMs = options.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS;

  /** True when the record is done with (handled, or permanently failed and recorded). */
  async function processRecord(record: SqsRecord, signal: AbortSignal, requestLog: Logger): Promise<boolean> {
    const message = toReceivedMessage(record);
    const log = requestLog.child({ messageId: message.id, attempt: message.receiveCount });
    try {
      await handle(message, { messageId: message.id, receiveCount: message.receiveCount, logger: log, signal });
      log.info("message handled");
      return true;
    } catch (error) {
      const final = finalFailure(error, message.receiveCount, options.maxReceiveCount);
      if (!final) {
        log.warn({ err: error }, "handler failed; will retry");
        return false;
      }
      log.error({ err: final }, "permanent failure; not retrying");
      try {
        await recordPermanentFailure(options, final, message);
        return true;
      } catch (recordError) {
        log.error({ err: recordError }, "could not record the permanent failure; the message will be retried");
        return false;
      }
    }
  }

  return async (event, context) => {
    const requestLog = logger.child({
      service,
      ...(context?.awsRequestId === undefined ? {} : { requestId: context.awsRequestId }),
    });
    const deadline = new AbortController();
    const remainingMs = context?.getRemainingTimeInMillis?.();
    const timer =
      remainingMs !== undefined && remainingMs > marginMs
        ? setTimeout(
            () => deadline.abort(new RetryableError("the Lambda invocation is about to time out")),
            remainingMs - marginMs,
          )
        : undefined;

    // A FIFO queue must not run a message after an earlier one of the batch failed.
    const fifo = event.Records[0]?.eventSourceARN.endsWith(".fifo") ?? false;
    const failures: string[] = [];
    try {
      for (const record of event.Records) {
        const skip = deadline.signal.aborted || (fifo && failures.length > 0);
        if (skip || !(await processRecord(record, deadline.signal, requestLog))) {
          failures.push(record.messageId);
        }
      }
    } finally {
      clearTimeout(timer);
    }
    if (failures.length) requestLog.info({ failed: failures.length, of: event.Records.length }, "batch partly failed");
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** An SQS event record as the Queue port's ReceivedMessage, so one handler serves both runtimes. */
export function toReceivedMessage(record: SqsRecord): ReceivedMessage {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const sentMs = Number(record.attributes.SentTimestamp);
  return {
    id: record.messageId,
    body: record.body,
    receiptHandle: record.receiptHandle,
    receiveCount: Number.isInteger(receiveCount) && receiveCount >= 1 ? receiveCount : 1,
    sentAt: new Date(Number.isFinite(sentMs) ? sentMs : 0),
  };
}
