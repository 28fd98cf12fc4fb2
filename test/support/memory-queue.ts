import { setImmediate } from "node:timers/promises";
import type {
  Queue,
  QueueDepth,
  QueueSettings,
  ReceiveOptions,
  ReceivedMessage,
  SendOptions,
} from "../../shared/ports.ts";
import { RetryableError } from "../../shared/errors.ts";
// SQS rejects out-of-range or fractional values; so does this double, with the adapters' own check.
import { checkQueueArgument } from "../../shared/queue/queue-limits.ts";

/**
 * An in-memory Queue with SQS semantics, for tests: visibility timeouts, receive counts, redrive
 * to a dead-letter queue past maxReceiveCount, stale receipt handles ignored, a long poll that
 * wakes on send and ends early on abort. Every call is logged in `calls` for assertions.
 * Ids are predictable (`<name>-1`, `<name>-2`, …); a receipt handle is `<id>#<receiveCount>`.
 */
export type QueueOperation = "send" | "receive" | "delete" | "changeVisibility";

export type QueueCall =
  | { op: "send"; at: number; messageId: string; body: string }
  | { op: "receive"; at: number; maxMessages: number; waitSeconds: number; received: string[] }
  | { op: "delete"; at: number; receiptHandle: string; messageId?: string; stale: boolean }
  | {
      op: "changeVisibility";
      at: number;
      receiptHandle: string;
      seconds: number;
      messageId?: string;
      stale: boolean;
    };

export interface StoredMessage {
  id: string;
  body: string;
  receiveCount: number;
  /** Receivable right now. */
  visible: boolean;
}

export interface MemoryQueue extends Queue {
  readonly settings: QueueSettings;
  /** Every call in order; `at` is Date.now() when the call began. */
  readonly calls: QueueCall[];
  /** The messages still held (visible, delayed or in flight), in send order. */
  snapshot(): StoredMessage[];
  /** Makes the next `times` calls of `op` reject with `error` (to test error handling). */
  failNext(op: QueueOperation, error?: Error, times?: number): void;
  /** Takes a message its source queue dead-lettered, keeping its id and send time, as SQS's redrive does. */
  adopt(message: { id: string; body: string; sentAt: Date }): void;
}

interface Entry {
  id: string;
  body: string;
  sentAt: Date;
  visibleAt: number;
  receiveCount: number;
  receiptHandle?: string;
}

export function createMemoryQueue(name: string, settings: QueueSettings, deadLetter?: MemoryQueue): MemoryQueue {
  const entries: Entry[] = [];
  const calls: QueueCall[] = [];
  const waiters = new Set<() => void>();
  const failures = new Map<QueueOperation, Error[]>();
  let sequence = 0;

  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const maybeFail = (op: QueueOperation) => {
    const error = failures.get(op)?.shift();
    if (error) throw error;
  };

  const byHandle = (receiptHandle: string) => entries.find((entry) => entry.receiptHandle === receiptHandle);

  async function send(body: string, options: SendOptions = {}): Promise<string> {
    const delaySeconds = options.delaySeconds ?? 0;
    checkQueueArgument("delaySeconds", delaySeconds);
    const id = `${name}-${++sequence}`;
    calls.push({ op: "send", at: Date.now(), messageId: id, body });
    maybeFail("send");
    entries.push({ id, body, sentAt: new Date(), visibleAt: Date.now() + delaySeconds * 1000, receiveCount: 0 });
    notify();
    return id;
  }

  /** Takes up to `max` visible messages, redriving those past maxReceiveCount. */
  async function take(max: number, visibilitySeconds: number): Promise<ReceivedMessage[]> {
    const now = Date.now();
    const taken: ReceivedMessage[] = [];
    for (const entry of [...entries]) {
      if (taken.length >= max) break;
      if (entry.visibleAt > now) continue;
      if (deadLetter && entry.receiveCount >= settings.maxReceiveCount) {
        entries.splice(entries.indexOf(entry), 1);
        deadLetter.adopt({ id: entry.id, body: entry.body, sentAt: entry.sentAt });
        continue;
      }
      entry.receiveCount++;
      entry.receiptHandle = `${entry.id}#${entry.receiveCount}`;
      entry.visibleAt = now + visibilitySeconds * 1000;
      taken.push({
        id: entry.id,
        body: entry.body,
        receiptHandle: entry.receiptHandle,
        receiveCount: entry.receiveCount,
        sentAt: entry.sentAt,
      });
    }
    return taken;
  }

  /** Resolves on a send or release, when the next message turns visible, at the deadline or on abort. */
  function waitForChange(deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const now = Date.now();
      const wakeAt = entries.reduce((soonest, entry) => (entry.visibleAt > now ? Math.min(soonest, entry.visibleAt) : soonest), deadline);
      const timer = setTimeout(done, Math.max(1, wakeAt - now));
      signal?.addEventListener("abort", done, { once: true });
      waiters.add(done);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        waiters.delete(done);
        resolve();
      }
    });
  }

  return {
    name,
    settings,
    calls,
    send,

    async sendBatch(bodies) {
      const ids: string[] = [];
      for (const body of bodies) ids.push(await send(body));
      return ids;
    },

    async receive(options: ReceiveOptions = {}) {
      const maxMessages = options.maxMessages ?? 1;
      const waitSeconds = options.waitSeconds ?? 0;
      checkQueueArgument("maxMessages", maxMessages);
      checkQueueArgument("waitSeconds", waitSeconds);
      const visibility = options.visibilityTimeoutSeconds ?? settings.visibilityTimeoutSeconds;
      checkQueueArgument("visibilityTimeoutSeconds", visibility);
      const call: QueueCall & { op: "receive" } = { op: "receive", at: Date.now(), maxMessages, waitSeconds, received: [] };
      calls.push(call);
      maybeFail("receive");
      const deadline = Date.now() + waitSeconds * 1000;
      await setImmediate(); // answer after a turn of the event loop, like a queue behind I/O
      for (;;) {
        const taken = await take(maxMessages, visibility);
        if (taken.length || Date.now() >= deadline || options.signal?.aborted) {
          call.received = taken.map((message) => message.id);
          return taken;
        }
        await waitForChange(deadline, options.signal);
      }
    },

    async delete(receiptHandle) {
      const entry = byHandle(receiptHandle);
      calls.push({ op: "delete", at: Date.now(), receiptHandle, messageId: entry?.id, stale: !entry });
      maybeFail("delete");
      if (entry) entries.splice(entries.indexOf(entry), 1);
    },

    async changeVisibility(receiptHandle, seconds) {
      checkQueueArgument("visibilityTimeoutSeconds", seconds, "seconds");
      const entry = byHandle(receiptHandle);
      calls.push({ op: "changeVisibility", at: Date.now(), receiptHandle, seconds, messageId: entry?.id, stale: !entry });
      maybeFail("changeVisibility");
      if (!entry) throw new RetryableError(`${name}: change visibility: stale receipt handle (the message was received again or deleted)`);
      entry.visibleAt = Date.now() + seconds * 1000;
      if (seconds === 0) notify();
    },

    async depth(): Promise<QueueDepth> {
      const now = Date.now();
      const depth = { visible: 0, inFlight: 0, delayed: 0 };
      for (const entry of entries) {
        if (entry.visibleAt <= now) depth.visible++;
        else if (entry.receiveCount > 0) depth.inFlight++;
        else depth.delayed++;
      }
      return depth;
    },

    snapshot() {
      const now = Date.now();
      return entries.map((entry) => ({
        id: entry.id,
        body: entry.body,
        receiveCount: entry.receiveCount,
        visible: entry.visibleAt <= now,
      }));
    },

    adopt(message) {
      entries.push({ ...message, visibleAt: Date.now(), receiveCount: 0 });
      notify();
    },

    failNext(op, error = new Error(`injected ${op} failure`), times = 1) {
      const queued = failures.get(op) ?? [];
      for (let i = 0; i < times; i++) queued.push(error);
      failures.set(op, queued);
    },
  };
}
