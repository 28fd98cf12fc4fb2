import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { RetryableError } from "../../shared/errors.ts";
import type { Queue, QueueSettings, ReceivedMessage } from "../../shared/ports.ts";

/** A fresh, empty queue and its dead-letter twin with the given settings, and how to remove them. */
export type MakeQueue = (settings: QueueSettings) => Promise<{
  queue: Queue;
  deadLetter: Queue;
  cleanup: () => Promise<void>;
}>;

/**
 * The Queue port's behaviour, run unchanged against every adapter. Visibility timeouts are
 * 1 s so the whole suite takes seconds; every test gets its own queue.
 */
export function queueContract(adapter: string, makeQueue: MakeQueue): void {
  const quick: QueueSettings = { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 };
  const slow: QueueSettings = { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 };

  async function withQueue(
    settings: QueueSettings,
    body: (queue: Queue, deadLetter: Queue) => Promise<void>,
  ): Promise<void> {
    const { queue, deadLetter, cleanup } = await makeQueue(settings);
    try {
      await body(queue, deadLetter);
    } finally {
      await cleanup();
    }
  }

  async function receiveAll(queue: Queue, expected: number): Promise<ReceivedMessage[]> {
    const all: ReceivedMessage[] = [];
    for (let attempt = 0; attempt < 10 && all.length < expected; attempt++) {
      all.push(...(await queue.receive({ maxMessages: 10, waitSeconds: 1 })));
    }
    return all;
  }

  describe(`Queue contract: ${adapter}`, () => {
    it("sends, receives and deletes a message", () =>
      withQueue(slow, async (queue) => {
        const id = await queue.send('{"hello":"world"}');
        const before = Date.now();
        const [message, ...rest] = await queue.receive({ waitSeconds: 1 });
        expect(rest).toEqual([]);
        expect(message).toMatchObject({ id, body: '{"hello":"world"}', receiveCount: 1 });
        expect(message!.receiptHandle).not.toBe("");
        expect(Math.abs(message!.sentAt.getTime() - before)).toBeLessThan(5000);
        await queue.delete(message!.receiptHandle);
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      }));

    it("sends a batch of 25 and receives each body once", () =>
      withQueue(slow, async (queue) => {
        const bodies = Array.from({ length: 25 }, (_, index) => `message ${index}`);
        const ids = await queue.sendBatch(bodies);
        expect(ids).toHaveLength(25);
        expect(new Set(ids).size).toBe(25);
        expect(await queue.depth()).toEqual({ visible: 25, inFlight: 0, delayed: 0 });
        const received = await receiveAll(queue, 25);
        expect(received.map((message) => message.body).sort()).toEqual([...bodies].sort());
        expect(received.map((message) => message.id).sort()).toEqual([...ids].sort());
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 25, delayed: 0 });
      }));

    it("returns at most maxMessages, and one message by default", () =>
      withQueue(slow, async (queue) => {
        await queue.sendBatch(["a", "b", "c", "d", "e"]);
        expect(await queue.receive({ maxMessages: 3 })).toHaveLength(3);
        expect(await queue.receive()).toHaveLength(1);
        expect(await queue.depth()).toEqual({ visible: 1, inFlight: 4, delayed: 0 });
      }));

    it("returns an empty list at once from an empty queue with waitSeconds 0", () =>
      withQueue(slow, async (queue) => {
        const started = Date.now();
        expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
        expect(Date.now() - started).toBeLessThan(2000);
      }));

    it("waits up to waitSeconds on an empty queue", () =>
      withQueue(slow, async (queue) => {
        const started = Date.now();
        expect(await queue.receive({ waitSeconds: 1 })).toEqual([]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      }));

    it("long poll returns the message sent while it waits", () =>
      withQueue(slow, async (queue) => {
        const waiting = queue.receive({ waitSeconds: 5 });
        await sleep(300);
        await queue.send("arrived late");
        const messages = await waiting;
        expect(messages.map((message) => message.body)).toEqual(["arrived late"]);
      }));

    it("an aborted long poll ends early with no messages", () =>
      withQueue(slow, async (queue) => {
        const controller = new AbortController();
        const started = Date.now();
        const waiting = queue.receive({ waitSeconds: 10, signal: controller.signal });
        setTimeout(() => controller.abort(), 200);
        expect(await waiting).toEqual([]);
        expect(Date.now() - started).toBeLessThan(5000);
      }));

    it("hides a received message until its visibility timeout, then delivers it again", () =>
      withQueue(quick, async (queue) => {
        const id = await queue.send("again");
        const [first] = await queue.receive();
        expect(first).toMatchObject({ id, body: "again", receiveCount: 1 });
        expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
        const [second] = await queue.receive({ waitSeconds: 3 });
        expect(second).toMatchObject({ id, body: "again", receiveCount: 2 });
        expect(second!.receiptHandle).not.toBe(first!.receiptHandle);
      }));

    it("uses the visibilityTimeoutSeconds given to receive", () =>
      withQueue(slow, async (queue) => {
        await queue.send("short");
        expect(await queue.receive({ visibilityTimeoutSeconds: 1 })).toHaveLength(1);
        const [again] = await queue.receive({ waitSeconds: 3 });
        expect(again).toMatchObject({ body: "short", receiveCount: 2 });
      }));

    it("changeVisibility(0) releases a message at once", () =>
      withQueue(slow, async (queue) => {
        await queue.send("release me");
        const [first] = await queue.receive();
        await queue.changeVisibility(first!.receiptHandle, 0);
        const [second] = await queue.receive({ waitSeconds: 1 });
        expect(second).toMatchObject({ body: "release me", receiveCount: 2 });
      }));

    it("changeVisibility extends the time a message stays hidden", () =>
      withQueue(quick, async (queue) => {
        await queue.send("keep hidden");
        const [first] = await queue.receive();
        await queue.changeVisibility(first!.receiptHandle, 4);
        await sleep(1500);
        expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
        // The handle is still the current one: releasing it works.
        await queue.changeVisibility(first!.receiptHandle, 0);
        expect(await queue.receive({ waitSeconds: 1 })).toMatchObject([{ body: "keep hidden", receiveCount: 2 }]);
      }));

    it("a stale receipt handle neither deletes nor releases the newer receive", () =>
      withQueue(quick, async (queue) => {
        await queue.send("received twice");
        const [first] = await queue.receive();
        const [second] = await queue.receive({ waitSeconds: 3 });
        expect(second).toMatchObject({ body: "received twice", receiveCount: 2 });

        await queue.delete(first!.receiptHandle);
        await expect(queue.changeVisibility(first!.receiptHandle, 0)).rejects.toBeInstanceOf(RetryableError);
        expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

        await queue.delete(second!.receiptHandle);
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      }));

    it("moves a message to the dead-letter queue after maxReceiveCount receives", () =>
      withQueue(quick, async (queue, deadLetter) => {
        const id = await queue.send("poison");
        expect(await queue.receive()).toMatchObject([{ id, receiveCount: 1 }]);
        expect(await queue.receive({ waitSeconds: 3 })).toMatchObject([{ id, receiveCount: 2 }]);
        // The third receive finds it past the limit and dead-letters it instead of delivering it.
        expect(await queue.receive({ waitSeconds: 2 })).toEqual([]);
        const [dead] = await deadLetter.receive({ waitSeconds: 1 });
        expect(dead).toMatchObject({ id, body: "poison" });
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      }));

    it("delays a message sent with delaySeconds", () =>
      withQueue(slow, async (queue) => {
        await queue.send("later", { delaySeconds: 1 });
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
        expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
        const [message] = await queue.receive({ waitSeconds: 3 });
        expect(message).toMatchObject({ body: "later", receiveCount: 1 });
      }));

    it("counts visible, in-flight and delayed messages", () =>
      withQueue(slow, async (queue) => {
        expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
        await queue.sendBatch(["one", "two", "three"]);
        await queue.send("four", { delaySeconds: 60 });
        await queue.receive();
        expect(await queue.depth()).toEqual({ visible: 2, inFlight: 1, delayed: 1 });
      }));
  });
}
