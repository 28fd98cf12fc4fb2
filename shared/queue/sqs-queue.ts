import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { classifyAwsError } from "../aws-errors.ts";
import { InfrastructureError, RetryableError, StaleReceiptError } from "../errors.ts";
import type { Queue, QueueDepth, ReceivedMessage, ReceiveOptions, SendOptions } from "../ports.ts";
import { checkQueueArgument } from "./queue-limits.ts";

export interface SqsClientSettings {
  /** A non-AWS endpoint (fauxqs, LocalStack, ElasticMQ); omitted for AWS itself. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** How long a request may go without a byte (longer than the long-poll wait); default 30 s. */
  requestTimeoutSeconds?: number;
}

/**
 * An SQS client. With an explicit endpoint, requests go to it rather than to the host in the
 * queue URL (emulators hand out URLs whose host does not resolve).
 */
export function createSqsClient(settings: SqsClientSettings = {}): SQSClient {
  return new SQSClient({
    ...(settings.endpoint ? { endpoint: settings.endpoint, useQueueUrlAsEndpoint: false } : {}),
    // Emulators ignore the region, but the SDK refuses to sign without one.
    region: settings.region ?? (settings.endpoint ? "us-east-1" : undefined),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // Without a timeout a request whose answer never comes would hold its worker for ever.
    requestHandler: { socketTimeout: (settings.requestTimeoutSeconds ?? 30) * 1000, connectionTimeout: (settings.requestTimeoutSeconds ?? 30) * 1000 },
  });
}

export interface SqsQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** Queue.name: the stage (`transcode`), or `transcode-dlq` for a dead-letter queue. */
  name: string;
  /**
   * Sent with every receive that does not set its own, so the configured timeout wins over the
   * queue attribute (the worker's heartbeat is checked against the configured one).
   */
  visibilityTimeoutSeconds?: number;
}

/**
 * The Queue port on Amazon SQS (or any SQS-compatible server). Redrive to the dead-letter queue
 * is SQS's own RedrivePolicy, set by `vodpipe setup`. A stale receipt handle makes delete a
 * no-op and changeVisibility a RetryableError (SQS rejects it; the newer receive is unaffected).
 */
export function createSqsQueue(options: SqsQueueOptions): Queue {
  const { client, queueUrl, name } = options;
  const what = (action: string) => `SQS queue ${name}: ${action}`;

  async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classifyAwsError(error, what(action));
    }
  }

  return {
    name,

    async send(body: string, sendOptions: SendOptions = {}): Promise<string> {
      const delaySeconds = checkQueueArgument("delaySeconds", sendOptions.delaySeconds ?? 0);
      const result = await call("send", () =>
        client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: body,
            ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
          }),
        ),
      );
      return result.MessageId ?? "";
    },

    async sendBatch(bodies: string[]): Promise<string[]> {
      const ids: string[] = [];
      for (let start = 0; start < bodies.length; start += 10) {
        const group = bodies.slice(start, start + 10);
        const result = await call("send batch", () =>
          client.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: group.map((body, index) => ({ Id: String(index), MessageBody: body })),
            }),
          ),
        );
        const failed = result.Failed ?? [];
        if (failed.length > 0) {
          const reasons = failed.map((entry) => `${entry.Code ?? "error"}: ${entry.Message ?? ""}`).join("; ");
          throw new InfrastructureError(
            `${what("send batch")}: ${failed.length} of ${group.length} messages failed (${reasons}); ` +
              `${ids.length + group.length - failed.length} were sent`,
          );
        }
        const byEntry = new Map((result.Successful ?? []).map((entry) => [entry.Id, entry.MessageId ?? ""]));
        group.forEach((_, index) => ids.push(byEntry.get(String(index)) ?? ""));
      }
      return ids;
    },

    async receive(receiveOptions: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
      const max = checkQueueArgument("maxMessages", receiveOptions.maxMessages ?? 1);
      const waitSeconds = checkQueueArgument("waitSeconds", receiveOptions.waitSeconds ?? 0);
      const visibility = receiveOptions.visibilityTimeoutSeconds ?? options.visibilityTimeoutSeconds;
      if (visibility !== undefined) checkQueueArgument("visibilityTimeoutSeconds", visibility);
      const { signal } = receiveOptions;
      if (signal?.aborted) return [];
      let result;
      try {
        result = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: max,
            WaitTimeSeconds: waitSeconds,
            ...(visibility !== undefined ? { VisibilityTimeout: visibility } : {}),
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (signal?.aborted) return [];
        throw classifyAwsError(error, what("receive"));
      }
      return (result.Messages ?? []).map((message) => ({
        id: message.MessageId ?? "",
        body: message.Body ?? "",
        receiptHandle: message.ReceiptHandle ?? "",
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
        sentAt: new Date(Number(message.Attributes?.SentTimestamp ?? Date.now())),
      }));
    },

    async delete(receiptHandle: string): Promise<void> {
      try {
        await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
      } catch (error) {
        if (isStaleReceipt(error)) return;
        throw classifyAwsError(error, what("delete"));
      }
    },

    async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
      checkQueueArgument("visibilityTimeoutSeconds", seconds, "seconds");
      try {
        await client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      } catch (error) {
        if (isStaleReceipt(error)) {
          throw new StaleReceiptError(
            `${what("change visibility")}: stale receipt handle (the message was received again or deleted)`,
            { cause: error },
          );
        }
        throw classifyAwsError(error, what("change visibility"));
      }
    },

    async depth(): Promise<QueueDepth> {
      const result = await call("depth", () =>
        client.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
              "ApproximateNumberOfMessages",
              "ApproximateNumberOfMessagesNotVisible",
              "ApproximateNumberOfMessagesDelayed",
            ],
          }),
        ),
      );
      const attributes = result.Attributes ?? {};
      return {
        visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
      };
    },
  };
}

/**
 * Whether an SQS error is one of `codes`. The SDK names an error after the JSON `__type` or, for
 * servers that send the legacy query error header, `AWS.SimpleQueueService.<code>`: check all.
 */
export function isSqsError(error: unknown, ...codes: string[]): boolean {
  const { name, Code, __type } = (error ?? {}) as { name?: unknown; Code?: unknown; __type?: unknown };
  return [name, Code, __type].some(
    (value) => typeof value === "string" && codes.includes(value.replace(/^.*[#.]/, "")),
  );
}

/**
 * SQS's answers to a receipt handle that no longer names the current receive: MessageNotInflight,
 * ReceiptHandleIsInvalid, or InvalidParameterValue "...ReceiptHandle... is invalid/has expired".
 */
function isStaleReceipt(error: unknown): boolean {
  if (isSqsError(error, "MessageNotInflight", "ReceiptHandleIsInvalid")) return true;
  const message = (error as { message?: unknown } | undefined)?.message;
  return isSqsError(error, "InvalidParameterValue") && typeof message === "string" && /receipt ?handle/i.test(message);
}
