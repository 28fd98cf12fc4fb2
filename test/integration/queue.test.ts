import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../shared/config.ts";
import { STAGES } from "../../shared/messages.ts";
import { createSqliteQueueStore } from "../../shared/queue/sqlite-queue.ts";
import { createSqsClient } from "../../shared/queue/sqs-queue.ts";
import {
  ensureSqsQueuePair,
  openQueueSet,
  openSqliteQueuePair,
  openSqsQueuePair,
  setupQueues,
} from "../../shared/queue/queue-set.ts";
import { queueContract } from "../contract/queue-contract.ts";
import { startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";

let faux: FauxAws;
let sqs: SQSClient;
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "vodpipe-queue-"));
  tempDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  faux = await startFauxAws();
  sqs = createSqsClient({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials });
});

afterAll(async () => {
  sqs.destroy();
  await faux.stop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

queueContract("SqliteQueue", async (settings) => {
  const dir = tempDir();
  const store = createSqliteQueueStore({ file: join(dir, "queues.sqlite") });
  const { queue, deadLetter } = openSqliteQueuePair(store, "contract", settings);
  return {
    queue,
    deadLetter,
    cleanup: async () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

queueContract("SqsQueue (fauxqs)", async (settings) => {
  const name = uniqueName("contract");
  const { url, deadLetterUrl } = await ensureSqsQueuePair(sqs, name, settings);
  const { queue, deadLetter } = await openSqsQueuePair(sqs, name, settings);
  return {
    queue,
    deadLetter,
    cleanup: async () => {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterUrl }));
    },
  };
});

/** The native class under better-sqlite3's Database: its prepare() makes every statement (db.pragma and db.transaction's too). */
function nativeDatabasePrototype(): { prepare(...args: unknown[]): unknown } {
  const probe = new Database(":memory:");
  probesKeptForProcessLifetime.push(probe);
  const native = Object.getOwnPropertySymbols(probe)
    .map((symbol) => (probe as unknown as Record<symbol, { prepare?: unknown }>)[symbol])
    .find((value) => typeof value?.prepare === "function");
  probe.close();
  if (!native) throw new Error("better-sqlite3's native database was not found");
  return Object.getPrototypeOf(native) as { prepare(...args: unknown[]): unknown };
}
const probesKeptForProcessLifetime: object[] = [];

describe("SqliteQueueStore", () => {
  it("keeps queues in one file apart, and shares them between two open stores", async () => {
    const file = join(tempDir(), "nested", "queues.sqlite");
    const settings = { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 };
    const first = createSqliteQueueStore({ file });
    const second = createSqliteQueueStore({ file });
    try {
      const a = first.queue("a", settings);
      const b = first.queue("b", settings);
      await a.send("for a");
      expect(await b.receive()).toEqual([]);
      // The second store sees the message only through the file, by polling.
      const waiting = second.queue("a", settings).receive({ waitSeconds: 3 });
      const [message] = await waiting;
      expect(message).toMatchObject({ body: "for a", receiveCount: 1 });
      expect(await a.receive()).toEqual([]);
      await a.delete(message!.receiptHandle);
      expect(await a.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    } finally {
      first.close();
      second.close();
    }
  });

  it("wakes a receive already waiting in one store when another store (process) sends", async () => {
    const file = join(tempDir(), "queues.sqlite");
    const settings = { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 };
    const waiter = createSqliteQueueStore({ file, pollIntervalMs: 50 });
    const sender = createSqliteQueueStore({ file });
    try {
      // Nothing is due in the queue, so the only thing that can end this 20 s wait early is
      // noticing the other connection's write; the abort turns a miss into an empty result.
      const giveUp = AbortSignal.timeout(5000);
      const waiting = waiter.queue("q", settings).receive({ waitSeconds: 20, signal: giveUp });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sender.queue("q", settings).send("from elsewhere");
      const [message] = await waiting;
      expect(message?.body).toBe("from elsewhere");
    } finally {
      waiter.close();
      sender.close();
    }
  });

  it("ends a waiting receive when the store closes", async () => {
    const store = createSqliteQueueStore({ file: join(tempDir(), "queues.sqlite") });
    const queue = store.queue("q", { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    const waiting = queue.receive({ waitSeconds: 10 });
    setTimeout(() => store.close(), 100);
    expect(await waiting).toEqual([]);
    await expect(queue.send("after close")).rejects.toThrow(/closed/);
  });

  it("prepares every statement when it opens and keeps them, closed or not, for the life of the process", async () => {
    // Node 24.19+ aborts when the collector frees a better-sqlite3 statement outside JavaScript
    // (sqlite-queue.ts, keepForProcessLifetime): no use may prepare one, and none may be collected.
    const prepare = vi.spyOn(nativeDatabasePrototype(), "prepare");
    const file = join(tempDir(), "queues.sqlite");
    const wrappers: WeakRef<object>[] = [];
    const writer = createSqliteQueueStore({ file });
    await (async () => {
      const store = createSqliteQueueStore({ file, pollIntervalMs: 10 });
      const preparedWhenOpened = prepare.mock.calls.length;
      expect(preparedWhenOpened).toBeGreaterThan(10);
      try {
        const queue = store.queue("q", { visibilityTimeoutSeconds: 30, maxReceiveCount: 1 });
        await queue.send("a");
        await queue.sendBatch(["b", "c"]);
        const [first] = await queue.receive({ maxMessages: 1 });
        await queue.changeVisibility(first!.receiptHandle, 0);
        expect(await queue.receive({ maxMessages: 10 })).toHaveLength(2); // "a" went to the dead-letter queue
        await queue.depth();
        // A wait that only the other connection's write ends: the store polls the file's version.
        const waiting = queue.receive({ waitSeconds: 5 });
        await new Promise((resolve) => setTimeout(resolve, 100));
        await writer.queue("q", { visibilityTimeoutSeconds: 30, maxReceiveCount: 1 }).send("d");
        const [fromWriter] = await waiting;
        await queue.delete(fromWriter!.receiptHandle);
        expect(prepare.mock.calls.length).toBe(preparedWhenOpened);
      } finally {
        store.close();
      }
      for (const made of [...prepare.mock.contexts, ...prepare.mock.results.map((result) => result.value)]) {
        wrappers.push(new WeakRef(made as object));
      }
      prepare.mockRestore();
    })();
    writer.close();

    await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef holds its target until the job ends
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
    expect(wrappers.length).toBeGreaterThan(10);
    expect(wrappers.filter((ref) => ref.deref() === undefined)).toHaveLength(0);
  });

  it("rejects out-of-range options", async () => {
    const store = createSqliteQueueStore({ file: join(tempDir(), "queues.sqlite") });
    try {
      const queue = store.queue("q", { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
      await expect(queue.receive({ maxMessages: 11 })).rejects.toThrow("maxMessages must be an integer from 1 to 10, got 11");
      await expect(queue.receive({ waitSeconds: 21 })).rejects.toThrow(RangeError);
      await expect(queue.send("x", { delaySeconds: 901 })).rejects.toThrow(RangeError);
    } finally {
      store.close();
    }
  });
});

describe("openQueueSet / setupQueues, embedded", () => {
  it("opens one queue and one dead-letter queue per stage in the data dir's SQLite file", async () => {
    const dataDir = tempDir();
    const config = loadConfig({ VODPIPE_DATA_DIR: dataDir });
    const setup = await setupQueues(config);
    expect(setup.kind).toBe("embedded");
    expect(setup.location).toBe(join(dataDir, "queues.sqlite"));
    expect(setup.queues.map((queue) => queue.name)).toEqual([
      "vodpipe-ingest",
      "vodpipe-split",
      "vodpipe-lead",
      "vodpipe-transcode",
      "vodpipe-audio",
      "vodpipe-thumbnails",
      "vodpipe-publish",
      "vodpipe-webhook",
    ]);

    const set = await openQueueSet(config);
    try {
      expect(Object.keys(set.queues)).toEqual([...STAGES]);
      expect(set.queues.transcode.name).toBe("transcode");
      expect(set.deadLetters.transcode.name).toBe("transcode-dlq");
      await set.queues.transcode.send("chunk 0");
      expect(await set.queues.publish.receive()).toEqual([]);
      expect(await set.deadLetters.transcode.receive()).toEqual([]);
      expect(await set.queues.transcode.receive()).toMatchObject([{ body: "chunk 0" }]);
    } finally {
      await set.close();
    }
  });
});

describe("openQueueSet / setupQueues, SQS", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  function sqsConfig(prefix: string) {
    return loadConfig({
      VODPIPE_QUEUE: "sqs",
      VODPIPE_SQS_ENDPOINT: faux.endpoint,
      VODPIPE_AWS_REGION: faux.region,
      VODPIPE_QUEUE_PREFIX: prefix,
      VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "60",
      VODPIPE_HEARTBEAT_SECONDS: "20",
      VODPIPE_MAX_RECEIVE_COUNT: "3",
    });
  }

  it("tells the user to run `vodpipe setup` when the queues are missing", async () => {
    const config = sqsConfig(`${uniqueName("missing")}-`);
    await expect(openQueueSet(config, { sqsClient: sqs })).rejects.toThrow(
      /SQS queue missing-\S+ does not exist: run `vodpipe setup`/,
    );
  });

  it("creates every queue with its redrive policy, idempotently, and opens them", async () => {
    const prefix = `${uniqueName("setup")}-`;
    const config = sqsConfig(prefix);
    const first = await setupQueues(config, { sqsClient: sqs });
    const again = await setupQueues(config, { sqsClient: sqs });
    expect(again.queues).toEqual(first.queues);
    expect(first.queues.map((queue) => queue.deadLetterName)).toEqual(STAGES.map((stage) => `${prefix}${stage}-dlq`));

    const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: `${prefix}transcode-dlq` }));
    const { Attributes: dlq } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
    );
    const { QueueUrl: url } = await sqs.send(new GetQueueUrlCommand({ QueueName: `${prefix}transcode` }));
    const { Attributes: main } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }),
    );
    expect(main?.VisibilityTimeout).toBe("60");
    expect(JSON.parse(main?.RedrivePolicy ?? "{}")).toEqual({ deadLetterTargetArn: dlq?.QueueArn, maxReceiveCount: 3 });

    // Changed settings: setup updates the existing queues instead of failing.
    const changed = loadConfig({
      VODPIPE_QUEUE: "sqs",
      VODPIPE_SQS_ENDPOINT: faux.endpoint,
      VODPIPE_AWS_REGION: faux.region,
      VODPIPE_QUEUE_PREFIX: prefix,
      VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "90",
      VODPIPE_MAX_RECEIVE_COUNT: "7",
    });
    await setupQueues(changed, { sqsClient: sqs });
    const { Attributes: updated } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }),
    );
    expect(updated?.VisibilityTimeout).toBe("90");
    expect(JSON.parse(updated?.RedrivePolicy ?? "{}")).toMatchObject({ maxReceiveCount: 7 });

    // Without an injected client, openQueueSet builds one from the config and the AWS environment.
    vi.stubEnv("AWS_ACCESS_KEY_ID", faux.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", faux.credentials.secretAccessKey);
    const set = await openQueueSet(config);
    try {
      expect(set.queues.audio.name).toBe("audio");
      expect(set.deadLetters.audio.name).toBe("audio-dlq");
      await set.queues.audio.send('{"type":"encode-audio"}');
      expect(await set.queues.split.receive()).toEqual([]);
      expect(await set.queues.audio.receive({ waitSeconds: 1 })).toMatchObject([{ body: '{"type":"encode-audio"}' }]);
    } finally {
      await set.close();
    }
  });
});
