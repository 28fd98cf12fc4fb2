import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { classifyAwsError } from "../aws-errors.ts";
import { InfrastructureError } from "../errors.ts";
import type { Config } from "../config.ts";
import { STAGES, type Stage } from "../messages.ts";
import type { Queue, QueueSettings } from "../ports.ts";
import { createSqliteQueueStore, deadLetterQueueName, type SqliteQueueStore } from "./sqlite-queue.ts";
import { createSqsClient, createSqsQueue, isSqsError } from "./sqs-queue.ts";

/** One queue per stage and its dead-letter twin. */
export interface QueueSet {
  queues: Record<Stage, Queue>;
  deadLetters: Record<Stage, Queue>;
  close(): Promise<void>;
}

export interface QueueSetDependencies {
  /** An SQS client to use instead of one built from the config (the caller keeps ownership). */
  sqsClient?: SQSClient;
}

/** A stage's queue name and its dead-letter twin's, e.g. `vodpipe-transcode`, `vodpipe-transcode-dlq`. */
export function queueNames(prefix: string, stage: Stage): { queue: string; deadLetter: string } {
  const queue = `${prefix}${stage}`;
  return { queue, deadLetter: deadLetterQueueName(queue) };
}

/** A queue and its dead-letter twin, for one stage or one test. */
export interface QueuePair {
  queue: Queue;
  deadLetter: Queue;
}

/** The embedded pair `queueName` / `queueName-dlq` in an open store. */
export function openSqliteQueuePair(
  store: SqliteQueueStore,
  queueName: string,
  settings: QueueSettings,
  name: string = queueName,
): QueuePair {
  return {
    queue: store.queue(queueName, { ...settings, name }),
    deadLetter: store.deadLetterQueue(queueName, {
      visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
      name: deadLetterQueueName(name),
    }),
  };
}

/**
 * Creates the SQS pair `queueName-dlq` then `queueName` with a RedrivePolicy, or brings an
 * existing pair's attributes in line with `settings`. Idempotent. Returns both queue URLs.
 */
export async function ensureSqsQueuePair(
  client: SQSClient,
  queueName: string,
  settings: QueueSettings,
): Promise<{ url: string; deadLetterUrl: string }> {
  const deadLetterName = deadLetterQueueName(queueName);
  // SQS keeps a message's original enqueue time in the DLQ, so give it the longest retention.
  const deadLetterUrl = await ensureQueue(client, deadLetterName, { MessageRetentionPeriod: "1209600" });
  const arn = await call(`get the ARN of SQS queue ${deadLetterName}`, async () => {
    const result = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
    );
    return result.Attributes?.QueueArn;
  });
  if (!arn) throw new Error(`SQS queue ${deadLetterName} has no QueueArn attribute`);
  const url = await ensureQueue(client, queueName, {
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: settings.maxReceiveCount }),
  });
  return { url, deadLetterUrl };
}

/** The SQS pair `queueName` / `queueName-dlq`, which must exist; the error says to run `vodpipe setup`. */
export async function openSqsQueuePair(
  client: SQSClient,
  queueName: string,
  settings: Pick<QueueSettings, "visibilityTimeoutSeconds">,
  name: string = queueName,
): Promise<QueuePair> {
  const [url, deadLetterUrl] = await Promise.all([
    lookUpQueueUrl(client, queueName),
    lookUpQueueUrl(client, deadLetterQueueName(queueName)),
  ]);
  const visibilityTimeoutSeconds = settings.visibilityTimeoutSeconds;
  return {
    queue: createSqsQueue({ client, queueUrl: url, name, visibilityTimeoutSeconds }),
    deadLetter: createSqsQueue({
      client,
      queueUrl: deadLetterUrl,
      name: deadLetterQueueName(name),
      visibilityTimeoutSeconds,
    }),
  };
}

/** Opens every stage's queue and dead-letter queue as the config says (embedded or SQS). */
export async function openQueueSet(config: Readonly<Config>, deps: QueueSetDependencies = {}): Promise<QueueSet> {
  const settings = config.queueSettings;
  const pairs: Partial<Record<Stage, QueuePair>> = {};
  let close: () => Promise<void>;

  if (config.queue.kind === "embedded") {
    const store = createSqliteQueueStore({ file: config.queue.file });
    for (const stage of STAGES) {
      pairs[stage] = openSqliteQueuePair(store, queueNames(config.queue.prefix, stage).queue, settings, stage);
    }
    close = async () => store.close();
  } else {
    const client = deps.sqsClient ?? createSqsClient({ endpoint: config.queue.endpoint, region: config.queue.region, requestTimeoutSeconds: config.queue.requestTimeoutSeconds });
    const ownsClient = deps.sqsClient === undefined;
    close = async () => {
      if (ownsClient) client.destroy();
    };
    const prefix = config.queue.prefix;
    try {
      const opened = await Promise.all(
        STAGES.map((stage) => openSqsQueuePair(client, queueNames(prefix, stage).queue, settings, stage)),
      );
      STAGES.forEach((stage, index) => (pairs[stage] = opened[index]));
    } catch (error) {
      await close();
      throw error;
    }
  }

  const byStage = (pick: (pair: QueuePair) => Queue) =>
    Object.fromEntries(STAGES.map((stage) => [stage, pick(pairs[stage]!)])) as Record<Stage, Queue>;
  return { queues: byStage((pair) => pair.queue), deadLetters: byStage((pair) => pair.deadLetter), close };
}

export interface SetupResult {
  kind: "embedded" | "sqs";
  /** Where the queues live: the SQLite file, or the SQS endpoint (`aws` when none is set). */
  location: string;
  queues: Array<{ stage: Stage; name: string; deadLetterName: string; url?: string; deadLetterUrl?: string }>;
}

/**
 * `vodpipe setup`: creates every stage's queue and dead-letter queue (or updates their settings).
 * Safe to run again. For the embedded queue this only creates the SQLite file.
 */
export async function setupQueues(config: Readonly<Config>, deps: QueueSetDependencies = {}): Promise<SetupResult> {
  const settings = config.queueSettings;
  if (config.queue.kind === "embedded") {
    createSqliteQueueStore({ file: config.queue.file }).close();
    return {
      kind: "embedded",
      location: config.queue.file,
      queues: STAGES.map((stage) => {
        const names = queueNames(config.queue.prefix, stage);
        return { stage, name: names.queue, deadLetterName: names.deadLetter };
      }),
    };
  }

  const client = deps.sqsClient ?? createSqsClient({ endpoint: config.queue.endpoint, region: config.queue.region, requestTimeoutSeconds: config.queue.requestTimeoutSeconds });
  try {
    const queues: SetupResult["queues"] = [];
    // One stage at a time keeps the request rate low and the log readable.
    for (const stage of STAGES) {
      const names = queueNames(config.queue.prefix, stage);
      const urls = await ensureSqsQueuePair(client, names.queue, {
        visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
        maxReceiveCount: settings.maxReceiveCount,
      });
      queues.push({ stage, name: names.queue, deadLetterName: names.deadLetter, ...urls });
    }
    return { kind: "sqs", location: config.queue.endpoint ?? "aws", queues };
  } finally {
    if (!deps.sqsClient) client.destroy();
  }
}

async function ensureQueue(client: SQSClient, queueName: string, attributes: Record<string, string>): Promise<string> {
  try {
    const created = await client.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
    return created.QueueUrl!;
  } catch (error) {
    // The queue exists with other attributes (settings changed since the last setup): update them.
    if (!isSqsError(error, "QueueNameExists", "QueueAlreadyExists")) {
      throw classifyAwsError(error, `create SQS queue ${queueName}`);
    }
  }
  const url = await lookUpQueueUrl(client, queueName);
  await call(`update SQS queue ${queueName}`, () =>
    client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes })),
  );
  return url;
}

async function lookUpQueueUrl(client: SQSClient, queueName: string): Promise<string> {
  try {
    const result = await client.send(new GetQueueUrlCommand({ QueueName: queueName }));
    return result.QueueUrl!;
  } catch (error) {
    if (isSqsError(error, "QueueDoesNotExist", "NonExistentQueue")) {
      throw new InfrastructureError(
        `SQS queue ${queueName} does not exist: run \`vodpipe setup\` to create the queues ` +
          `(or check VODPIPE_QUEUE_PREFIX, VODPIPE_SQS_ENDPOINT and VODPIPE_AWS_REGION)`,
        { cause: error, reason: "a queue the deployment names does not exist; vodpipe retries until it does" },
      );
    }
    throw classifyAwsError(error, `look up SQS queue ${queueName}`);
  }
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw classifyAwsError(error, what);
  }
}
