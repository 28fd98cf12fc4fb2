import { describe, expect, it, vi } from "vitest";
import { InvalidMediaError, PermanentError, RetryableError } from "../../shared/errors.ts";
import type { ReceivedMessage } from "../../shared/ports.ts";
import { createSqsLambdaHandler, type SqsEvent, type SqsRecord } from "../../shared/consumer/lambda.ts";
import type { HandlerContext } from "../../shared/consumer/types.ts";
import { createMemoryQueue } from "../support/memory-queue.ts";
import { captureLogs } from "../support/capture-logs.ts";

const QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:vodpipe-transcode";

function record(n: number, overrides: Partial<SqsRecord> = {}): SqsRecord {
  return {
    messageId: `id-${n}`,
    receiptHandle: `rh-${n}`,
    body: JSON.stringify({ n }),
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1700000000000" },
    eventSourceARN: QUEUE_ARN,
    ...overrides,
  };
}

function event(...records: SqsRecord[]): SqsEvent {
  return { Records: records };
}


const bodyNumber = (message: ReceivedMessage) => (JSON.parse(message.body) as { n: number }).n;

describe("createSqsLambdaHandler", () => {
  it("reports only the retryable failure; a permanent one is recorded and acked", async () => {
    const dlq = createMemoryQueue("lambda-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const hook = vi.fn(async (_error: PermanentError, _message: ReceivedMessage) => {});
    const order: number[] = [];
    const handler = createSqsLambdaHandler({
      service: "transcode",
      logger: captureLogs().logger,
      deadLetter: dlq,
      onPermanentFailure: hook,
      handle: async (message) => {
        const n = bodyNumber(message);
        order.push(n);
        if (n === 2) throw new RetryableError("S3 answered 503");
        if (n === 3) throw new InvalidMediaError("not a video", { videoId: "v3" });
      },
    });

    const response = await handler(event(record(1), record(2), record(3), record(4)));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "id-2" }] });
    expect(order).toEqual([1, 2, 3, 4]);
    expect(hook).toHaveBeenCalledTimes(1);
    const [error, message] = hook.mock.calls[0]!;
    expect(error.message).toBe("not a video");
    expect(message).toEqual({
      id: "id-3",
      body: '{"n":3}',
      receiptHandle: "rh-3",
      receiveCount: 1,
      sentAt: new Date(1700000000000),
    });
    expect(dlq.snapshot().map((m) => JSON.parse(m.body))).toEqual([
      {
        reason: "not a video",
        errorName: "InvalidMediaError",
        body: '{"n":3}',
        messageId: "id-3",
        receiveCount: 1,
        videoId: "v3",
        failedAt: expect.any(String),
        service: "transcode",
      },
    ]);
  });

  it("runs records one after another", async () => {
    let running = 0;
    let most = 0;
    const handler = createSqsLambdaHandler({
      service: "audio",
      logger: captureLogs().logger,
      handle: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
      },
    });
    expect(await handler(event(record(1), record(2), record(3)))).toEqual({ batchItemFailures: [] });
    expect(most).toBe(1);
  });

  it("gives the handler the receive count, sent time and a logger naming the message", async () => {
    const { logger, lines } = captureLogs();
    const contexts: Omit<HandlerContext, "logger" | "signal">[] = [];
    const messages: ReceivedMessage[] = [];
    const handler = createSqsLambdaHandler({
      service: "publish",
      logger,
      handle: async (message, context) => {
        contexts.push({ messageId: context.messageId, receiveCount: context.receiveCount });
        messages.push(message);
        context.logger.child({ videoId: "v9" }).info("publishing");
      },
    });
    const retried = record(9, { attributes: { ApproximateReceiveCount: "3", SentTimestamp: "1700000123456" } });
    await handler(event(retried), { awsRequestId: "req-1" });

    expect(contexts).toEqual([{ messageId: "id-9", receiveCount: 3 }]);
    expect(messages).toEqual([
      { id: "id-9", body: '{"n":9}', receiptHandle: "rh-9", receiveCount: 3, sentAt: new Date(1700000123456) },
    ]);
    expect(lines.find((line) => line.msg === "publishing")).toMatchObject({
      service: "publish",
      requestId: "req-1",
      messageId: "id-9",
      attempt: 3,
      videoId: "v9",
    });
  });

  it("treats an unknown error as retryable", async () => {
    const handler = createSqsLambdaHandler({
      service: "split",
      logger: captureLogs().logger,
      handle: async () => {
        throw new TypeError("cannot read properties of undefined");
      },
    });
    expect(await handler(event(record(1)))).toEqual({ batchItemFailures: [{ itemIdentifier: "id-1" }] });
  });

  it("fails the job on the last receive SQS allows (ApproximateReceiveCount) instead of reporting it again", async () => {
    const dlq = createMemoryQueue("lambda-last-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const hook = vi.fn(async (_error: PermanentError, _message: ReceivedMessage) => {});
    const handler = createSqsLambdaHandler({
      service: "transcode",
      logger: captureLogs().logger,
      deadLetter: dlq,
      onPermanentFailure: hook,
      maxReceiveCount: 5,
      handle: async () => {
        throw new RetryableError("ffmpeg was killed by SIGKILL");
      },
    });
    const receivedTimes = (count: number, n: number) => record(n, { attributes: { ApproximateReceiveCount: String(count), SentTimestamp: "1" } });

    const response = await handler(event(receivedTimes(4, 1), receivedTimes(5, 2)));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "id-1" }] });
    expect(hook).toHaveBeenCalledTimes(1);
    expect(hook.mock.calls[0]![0].message).toBe("gave up after all 5 attempts failed: ffmpeg was killed by SIGKILL");
    expect(hook.mock.calls[0]![1]).toMatchObject({ id: "id-2", receiveCount: 5 });
    expect(dlq.snapshot().map((m) => JSON.parse(m.body))).toEqual([
      expect.objectContaining({ errorName: "RetriesExhaustedError", messageId: "id-2", receiveCount: 5 }),
    ]);
  });

  it("reports a permanent failure as failed when recording it fails, so it is not lost", async () => {
    const dlq = createMemoryQueue("lambda-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    dlq.failNext("send", new Error("SQS unreachable"));
    const handler = createSqsLambdaHandler({
      service: "ingest",
      logger: captureLogs().logger,
      deadLetter: dlq,
      handle: async () => {
        throw new PermanentError("bad input");
      },
    });
    expect(await handler(event(record(1)))).toEqual({ batchItemFailures: [{ itemIdentifier: "id-1" }] });
  });

  it("stops at the first failure of a FIFO batch and reports the rest", async () => {
    const fifoArn = "arn:aws:sqs:eu-west-1:123456789012:vodpipe-publish.fifo";
    const seen: number[] = [];
    const handler = createSqsLambdaHandler({
      service: "publish",
      logger: captureLogs().logger,
      handle: async (message) => {
        seen.push(bodyNumber(message));
        if (bodyNumber(message) === 2) throw new RetryableError("throttled");
      },
    });
    const records = [1, 2, 3, 4].map((n) => record(n, { eventSourceARN: fifoArn }));
    expect(await handler(event(...records))).toEqual({
      batchItemFailures: [{ itemIdentifier: "id-2" }, { itemIdentifier: "id-3" }, { itemIdentifier: "id-4" }],
    });
    expect(seen).toEqual([1, 2]);
  });

  it("aborts the handler before the invocation times out and reports the unprocessed records", async () => {
    const seen: number[] = [];
    let reason: unknown;
    const handler = createSqsLambdaHandler({
      service: "transcode",
      logger: captureLogs().logger,
      handle: async (message, { signal }) => {
        seen.push(bodyNumber(message));
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        reason = signal.reason;
        throw signal.reason;
      },
    });
    const started = Date.now();
    const response = await handler(event(record(1), record(2)), { getRemainingTimeInMillis: () => 1300 });

    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "id-1" }, { itemIdentifier: "id-2" }] });
    expect(seen).toEqual([1]);
    expect((reason as Error).message).toBe("the Lambda invocation is about to time out");
  });
});
