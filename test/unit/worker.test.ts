import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidMediaError, PermanentError, RetryableError, StaleReceiptError } from "../../shared/errors.ts";
import type { ReceivedMessage } from "../../shared/ports.ts";
import { createBackoff } from "../../shared/consumer/backoff.ts";
import { RetriesExhaustedError, type MessageHandler } from "../../shared/consumer/types.ts";
import { createWorker, type Worker, type WorkerOptions } from "../../shared/consumer/worker.ts";
import { createMemoryQueue, type MemoryQueue, type QueueCall } from "../support/memory-queue.ts";
import { captureLogs } from "../support/capture-logs.ts";

const workers: Worker[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});

/** A sleep on the global timers, so that it follows the fake clock in tests that use one. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


function startWorker(queue: MemoryQueue, handle: MessageHandler, overrides: Partial<WorkerOptions> = {}): Worker {
  const worker = createWorker({
    service: "test-service",
    queue,
    handle,
    logger: captureLogs().logger,
    concurrency: 1,
    waitSeconds: 1,
    visibilityTimeoutSeconds: 1,
    heartbeatSeconds: 0.25,
    backoff: () => 0,
    ...overrides,
  });
  workers.push(worker);
  worker.start();
  return worker;
}

/** Waits (on the fake clock, when the test runs on one) until `predicate` holds. */
async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !predicate(); waited += 10) {
    if (waited > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(10);
    else await delay(10);
  }
}

const callsOf = <T extends QueueCall["op"]>(queue: MemoryQueue, op: T) =>
  queue.calls.filter((call): call is Extract<QueueCall, { op: T }> => call.op === op);

describe("backoff", () => {
  it("doubles from 2 s up to a 5 min cap, scaled by the random draw (full jitter)", () => {
    const highest = createBackoff({ random: () => 0.999 });
    expect([1, 2, 3, 4, 8, 9, 1000].map(highest)).toEqual([2, 4, 8, 16, 256, 300, 300]);
    const half = createBackoff({ random: () => 0.5 });
    expect([1, 2, 3, 4, 5].map(half)).toEqual([1, 2, 4, 8, 16]);
    expect(createBackoff({ random: () => 0 })(7)).toBe(0);
  });

  it("takes a base and a cap", () => {
    const backoff = createBackoff({ baseSeconds: 10, capSeconds: 60, random: () => 0.999 });
    expect([1, 2, 3, 4].map(backoff)).toEqual([10, 20, 40, 60]);
  });
});

describe("memory queue (the test double other tests rely on)", () => {
  it("hides a received message, releases it with a new receipt handle and ignores the stale one", async () => {
    const queue = createMemoryQueue("mq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const id = await queue.send("hello");
    const [first] = await queue.receive();
    expect(first).toMatchObject({ id: "mq-1", body: "hello", receiptHandle: "mq-1#1", receiveCount: 1 });
    expect(id).toBe("mq-1");
    expect(await queue.receive()).toEqual([]);
    expect(await queue.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

    await queue.changeVisibility("mq-1#1", 0);
    const [second] = await queue.receive();
    expect(second).toMatchObject({ id: "mq-1", receiptHandle: "mq-1#2", receiveCount: 2 });

    await queue.delete("mq-1#1");
    expect(queue.snapshot()).toHaveLength(1);
    await queue.delete("mq-1#2");
    expect(queue.snapshot()).toEqual([]);
    expect(callsOf(queue, "delete").map((call) => call.stale)).toEqual([true, false]);
  });

  it("moves a message to the dead-letter queue on the receive after maxReceiveCount", async () => {
    const dlq = createMemoryQueue("mq-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const queue = createMemoryQueue("mq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 2 }, dlq);
    await queue.send("poison");
    for (const handle of ["mq-1#1", "mq-1#2"]) {
      expect((await queue.receive()).map((m) => m.receiptHandle)).toEqual([handle]);
      await queue.changeVisibility(handle, 0);
    }
    expect(await queue.receive()).toEqual([]);
    expect(queue.snapshot()).toEqual([]);
    expect(dlq.snapshot()).toEqual([{ id: "mq-1", body: "poison", receiveCount: 0, visible: true }]);
  });

  it("wakes a long poll on send and ends it early on abort", async () => {
    const queue = createMemoryQueue("mq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    let started = Date.now();
    setTimeout(() => void queue.send("late"), 100);
    const received = await queue.receive({ waitSeconds: 10 });
    expect(received.map((m) => m.body)).toEqual(["late"]);
    // Far below the 10 s wait, with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(5000);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    started = Date.now();
    expect(await queue.receive({ waitSeconds: 10, signal: controller.signal })).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("rejects values SQS rejects", async () => {
    const queue = createMemoryQueue("mq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    await expect(queue.receive({ maxMessages: 11 })).rejects.toThrow(RangeError);
    await expect(queue.changeVisibility("mq-1#1", 1.5)).rejects.toThrow("seconds must be an integer from 0 to 43200, got 1.5");
  });
});

describe("createWorker", () => {
  it("keeps a handler slower than the visibility timeout invisible with heartbeats, then deletes once", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue("hb", { visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    await queue.send('{"videoId":"v1"}');
    let handled = 0;
    startWorker(queue, async () => {
      handled++;
      await sleep(2500);
    });
    await waitFor("the handler to start", () => handled === 1);
    await vi.advanceTimersByTimeAsync(1300);
    expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
    await vi.advanceTimersByTimeAsync(700);
    expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
    await waitFor("the delete", () => queue.snapshot().length === 0);

    expect(handled).toBe(1);
    expect(callsOf(queue, "delete").map(({ receiptHandle, stale }) => ({ receiptHandle, stale }))).toEqual([
      { receiptHandle: "hb-1#1", stale: false },
    ]);
    const heartbeats = callsOf(queue, "changeVisibility");
    expect(heartbeats.length).toBeGreaterThanOrEqual(7);
    expect(new Set(heartbeats.map((call) => `${call.receiptHandle} ${call.seconds}`))).toEqual(new Set(["hb-1#1 1"]));
  });

  it("does not retry a PermanentError: hook once, reason in the dead-letter queue, deleted once", async () => {
    vi.useFakeTimers();
    const dlq = createMemoryQueue("perm-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const queue = createMemoryQueue("perm", { visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    await queue.send('{"videoId":"v7"}');
    const hook = vi.fn(async (_error: PermanentError, _message: ReceivedMessage) => {});
    let handled = 0;
    startWorker(
      queue,
      async () => {
        handled++;
        throw new InvalidMediaError("no video stream in the upload", { videoId: "v7" });
      },
      { service: "ingest", deadLetter: dlq, onPermanentFailure: hook },
    );
    await waitFor("the delete", () => queue.snapshot().length === 0);
    await vi.advanceTimersByTimeAsync(1200); // longer than the visibility timeout: a retry would have happened by now

    expect(handled).toBe(1);
    expect(hook).toHaveBeenCalledTimes(1);
    const [error, message] = hook.mock.calls[0]!;
    expect(error).toBeInstanceOf(InvalidMediaError);
    expect(message).toMatchObject({ id: "perm-1", receiveCount: 1 });
    expect(callsOf(queue, "delete")).toHaveLength(1);
    expect(callsOf(queue, "changeVisibility")).toEqual([]);
    const letters = dlq.snapshot().map((m) => JSON.parse(m.body));
    expect(letters).toEqual([
      {
        reason: "no video stream in the upload",
        errorName: "InvalidMediaError",
        body: '{"videoId":"v7"}',
        messageId: "perm-1",
        receiveCount: 1,
        videoId: "v7",
        failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        service: "ingest",
      },
    ]);
  });

  it("retries a permanent failure whose hook failed, so it is not lost", async () => {
    const dlq = createMemoryQueue("hookfail-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const queue = createMemoryQueue("hookfail", { visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    await queue.send("{}");
    const hook = vi
      .fn(async (_error: PermanentError, _message: ReceivedMessage) => {})
      .mockRejectedValueOnce(new Error("job store unreachable"));
    startWorker(
      queue,
      async () => {
        throw new PermanentError("bad input");
      },
      { deadLetter: dlq, onPermanentFailure: hook },
    );
    await waitFor("the delete", () => queue.snapshot().length === 0);

    expect(hook).toHaveBeenCalledTimes(2);
    expect(callsOf(queue, "changeVisibility").map((call) => call.seconds)).toEqual([0]);
    expect(callsOf(queue, "delete").map((call) => call.receiptHandle)).toEqual(["hookfail-1#2"]);
    expect(dlq.snapshot().map((m) => JSON.parse(m.body).receiveCount)).toEqual([2]);
  });

  it("fails the job when the last receive the queue allows fails too, instead of dead-lettering it silently", async () => {
    const dlq = createMemoryQueue("last-dlq", { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    const queue = createMemoryQueue("last", { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 });
    await queue.send('{"videoId":"v9"}');
    const hook = vi.fn(async (_error: PermanentError, _message: ReceivedMessage) => {});
    const attempts: number[] = [];
    startWorker(
      queue,
      async (_message, context) => {
        attempts.push(context.receiveCount);
        throw new RetryableError(`S3 answered 503 (try ${context.receiveCount})`, { videoId: "v9" });
      },
      { service: "audio", deadLetter: dlq, onPermanentFailure: hook, maxReceiveCount: 3 },
    );
    await waitFor("the delete", () => queue.snapshot().length === 0);

    expect(attempts).toEqual([1, 2, 3]);
    expect(hook).toHaveBeenCalledTimes(1);
    const [error, message] = hook.mock.calls[0]!;
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error.message).toBe("gave up after all 3 attempts failed: S3 answered 503 (try 3)");
    expect(error.videoId).toBe("v9");
    expect(message).toMatchObject({ receiveCount: 3 });
    expect(callsOf(queue, "delete").map((call) => call.receiptHandle)).toEqual(["last-1#3"]);
    expect(dlq.snapshot().map((m) => JSON.parse(m.body))).toEqual([
      expect.objectContaining({ errorName: "RetriesExhaustedError", receiveCount: 3, videoId: "v9", service: "audio" }),
    ]);
  });

  it("retries a retryable error after the backoff for its receive count, then succeeds", async () => {
    const queue = createMemoryQueue("retry", { visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    await queue.send('{"n":1}');
    const { logger, lines } = captureLogs();
    const attempts: number[] = [];
    const backoff = vi.fn((receiveCount: number) => (receiveCount === 1 ? 0 : 60));
    startWorker(
      queue,
      async (_message, context) => {
        attempts.push(context.receiveCount);
        if (context.receiveCount === 1) throw new Error("connection reset");
      },
      { service: "transcode", logger, backoff, heartbeatSeconds: 0.9 },
    );
    await waitFor("the delete", () => queue.snapshot().length === 0);

    expect(attempts).toEqual([1, 2]);
    expect(backoff.mock.calls).toEqual([[1]]);
    expect(callsOf(queue, "changeVisibility").map(({ receiptHandle, seconds }) => ({ receiptHandle, seconds }))).toEqual([
      { receiptHandle: "retry-1#1", seconds: 0 },
    ]);
    expect(callsOf(queue, "delete").map((call) => call.receiptHandle)).toEqual(["retry-1#2"]);
    const failure = lines.find((line) => line.msg === "handler failed; will retry");
    expect(failure).toMatchObject({
      level: 40,
      service: "transcode",
      messageId: "retry-1",
      attempt: 1,
      retryInSeconds: 0,
      err: { message: "connection reset" },
    });
  });

  it("never runs more handlers at once than its concurrency", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue("conc", { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
    await queue.sendBatch(["a", "b", "c", "d", "e"]);
    let current = 0;
    let most = 0;
    const seen: string[] = [];
    const worker = startWorker(
      queue,
      async (message) => {
        current++;
        most = Math.max(most, current);
        seen.push(message.body);
        await sleep(150);
        current--;
      },
      { concurrency: 2, visibilityTimeoutSeconds: 2, heartbeatSeconds: 1 },
    );
    await waitFor("all deletes", () => queue.snapshot().length === 0);

    expect(most).toBe(2);
    expect(seen.sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect(callsOf(queue, "receive").every((call) => call.maxMessages <= 2)).toBe(true);
    expect(callsOf(queue, "delete")).toHaveLength(5);
    vi.useRealTimers();
    await worker.stop();
    expect(worker.running).toBe(0);
  });

  it("stop() lets a running handler finish and delete its message, and receives no more", async () => {
    const queue = createMemoryQueue("stop", { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
    await queue.send("one");
    let finished = false;
    const worker = startWorker(
      queue,
      async () => {
        await delay(600);
        finished = true;
      },
      { visibilityTimeoutSeconds: 2, heartbeatSeconds: 0.5 },
    );
    await waitFor("the handler to start", () => worker.running === 1);
    // Counted, not timed: a receive in the same millisecond as stop() is not one after it.
    const receivesBeforeStop = callsOf(queue, "receive").length;
    await worker.stop();

    expect(finished).toBe(true);
    expect(queue.snapshot()).toEqual([]);
    expect(callsOf(queue, "delete").map((call) => call.receiptHandle)).toEqual(["stop-1#1"]);
    expect(callsOf(queue, "receive")).toHaveLength(receivesBeforeStop);
    await queue.send("two");
    await delay(100);
    expect(queue.snapshot().map((m) => m.receiveCount)).toEqual([0]);
    await expect(worker.done).resolves.toBeUndefined();
  });

  it("stop() ends an idle long poll at once", async () => {
    const queue = createMemoryQueue("idle", { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
    const worker = startWorker(queue, async () => {}, { waitSeconds: 20 });
    await waitFor("the long poll", () => callsOf(queue, "receive").length === 1);
    const started = Date.now();
    await worker.stop();
    // Far below the 20 s long poll it interrupted.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("aborts a handler that outlives the stop grace and releases its message at once", async () => {
    const queue = createMemoryQueue("grace", { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
    await queue.send("slow");
    let abortReason: unknown;
    const worker = startWorker(
      queue,
      async (_message, { signal }) => {
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        abortReason = signal.reason;
        throw signal.reason;
      },
      { visibilityTimeoutSeconds: 2, heartbeatSeconds: 0.5, stopGraceSeconds: 0.3 },
    );
    await waitFor("the handler to start", () => worker.running === 1);
    const started = Date.now();
    await worker.stop();

    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(abortReason).toBeInstanceOf(RetryableError);
    expect((abortReason as Error).message).toBe("the worker stopped before the handler finished");
    expect(callsOf(queue, "delete")).toEqual([]);
    expect(callsOf(queue, "changeVisibility").map(({ receiptHandle, seconds }) => ({ receiptHandle, seconds }))).toEqual([
      { receiptHandle: "grace-1#1", seconds: 0 },
    ]);
    const again = await queue.receive({ waitSeconds: 0 });
    expect(again.map(({ id, receiveCount }) => ({ id, receiveCount }))).toEqual([{ id: "grace-1", receiveCount: 2 }]);
  });

  it("aborts a handler past the job timeout and schedules a retry", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue("timeout", { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
    await queue.send("stuck");
    let abortReason: unknown;
    startWorker(
      queue,
      async (_message, { signal }) => {
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        abortReason = signal.reason;
        throw signal.reason;
      },
      { visibilityTimeoutSeconds: 2, heartbeatSeconds: 1, jobTimeoutSeconds: 0.3, backoff: () => 7 },
    );
    await waitFor("the retry delay", () => callsOf(queue, "changeVisibility").some((call) => call.seconds === 7));

    expect((abortReason as Error).message).toBe("job timed out after 0.3 s");
    expect(callsOf(queue, "delete")).toEqual([]);
    expect(queue.snapshot()).toEqual([{ id: "timeout-1", body: "stuck", receiveCount: 1, visible: false }]);
  });

  it("aborts a handler whose heartbeat is rejected (it lost its message) and leaves the message alone", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue("lost", { visibilityTimeoutSeconds: 2, maxReceiveCount: 1 });
    const hook = vi.fn(async (_error: PermanentError, _message: ReceivedMessage) => {});
    await queue.send('{"videoId":"v4"}');
    queue.failNext("changeVisibility", new StaleReceiptError("stale receipt handle"));
    let abortReason: unknown;
    const worker = startWorker(
      queue,
      async (_message, { signal }) => {
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        abortReason = signal.reason;
        throw signal.reason;
      },
      { visibilityTimeoutSeconds: 2, heartbeatSeconds: 0.2, maxReceiveCount: 1, onPermanentFailure: hook },
    );
    await waitFor("the abort", () => abortReason !== undefined);
    await waitFor("the handler to settle", () => worker.running === 0);
    await vi.advanceTimersByTimeAsync(100);

    expect((abortReason as Error).message).toBe("the worker lost its message (heartbeat rejected)");
    // Whoever holds the message now decides its fate: no delete, no retry delay, no failed job.
    expect(callsOf(queue, "delete")).toEqual([]);
    expect(callsOf(queue, "changeVisibility").map((call) => call.seconds)).toEqual([2]);
    expect(hook).not.toHaveBeenCalled();
  });

  it("survives failing receive, heartbeat and delete calls", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue("flaky", { visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    await queue.sendBatch(["first", "second"]);
    queue.failNext("receive", new Error("receive: socket hang up"));
    queue.failNext("changeVisibility", new Error("heartbeat: throttled"));
    queue.failNext("delete", new Error("delete: 503"));
    const { logger, lines } = captureLogs();
    const handled: string[] = [];
    startWorker(
      queue,
      async (message) => {
        handled.push(`${message.body}#${message.receiveCount}`);
        await sleep(400);
      },
      { logger },
    );
    await waitFor("both messages deleted", () => queue.snapshot().length === 0, 8000);

    // "first" lost its delete, so the queue delivered it again after its visibility timeout.
    expect(handled).toEqual(["first#1", "second#1", "first#2"]);
    const messages = lines.map((line) => line.msg);
    expect(messages).toContain("receive failed; retrying");
    expect(messages).toContain("heartbeat: changing the visibility failed");
    expect(messages).toContain("delete failed; the message will be delivered again");
  });

  it("rejects a heartbeat that is not shorter than the visibility timeout", () => {
    const queue = createMemoryQueue("bad", { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
    expect(() =>
      createWorker({
        service: "x",
        queue,
        handle: async () => {},
        logger: captureLogs().logger,
        concurrency: 1,
        waitSeconds: 0,
        visibilityTimeoutSeconds: 30,
        heartbeatSeconds: 30,
      }),
    ).toThrow("heartbeatSeconds (30) must be above 0 and below visibilityTimeoutSeconds (30)");
  });
});
