import { STAGES, type Stage } from "../messages.ts";
import type { Queue, ReceivedMessage } from "../ports.ts";

/** One stage's line in `vodpipe queues`. */
export interface StageQueueReport {
  stage: Stage;
  /** Messages waiting to be received. */
  waiting: number;
  /** Received and not yet deleted (being worked on, or waiting out a retry delay). */
  inFlight: number;
  /** Sent with a delay that has not run out yet. */
  delayed: number;
  /** Everything in the stage's dead-letter queue, visible or not. */
  deadLetters: number;
}

/** Every stage's queue depth and dead-letter depth, in pipeline order. */
export async function reportQueues(
  queues: Readonly<Record<Stage, Queue>>,
  deadLetters: Readonly<Record<Stage, Queue>>,
): Promise<StageQueueReport[]> {
  return Promise.all(
    STAGES.map(async (stage) => {
      const [depth, dead] = await Promise.all([queues[stage].depth(), deadLetters[stage].depth()]);
      return {
        stage,
        waiting: depth.visible,
        inFlight: depth.inFlight,
        delayed: depth.delayed,
        deadLetters: dead.visible + dead.inFlight + dead.delayed,
      };
    }),
  );
}

export interface RedriveOptions {
  /** Called with the body about to be sent back, before it is sent (e.g. to reopen its job). */
  beforeSend?: (body: string) => Promise<void>;
  /** How long a dead letter stays hidden while it is moved (default 60 s). */
  visibilityTimeoutSeconds?: number;
  /**
   * Long-poll wait of each receive (default 1 s): an SQS receive without a wait samples only some
   * servers and may answer "empty" while messages remain.
   */
  waitSeconds?: number;
  now?: () => Date;
}

/**
 * Moves every message in `deadLetter` back to `queue`, by receive, send and delete (SQS's
 * StartMessageMoveTask would move our permanent-failure records as they are, not the message
 * they carry, and emulators lack it). Records the runtime wrote for a permanent failure are
 * unwrapped to the original body. Messages that reach the dead-letter queue while this runs (a
 * redriven message failing again) are left there, so a message that keeps failing cannot keep
 * the redrive going. At-least-once: a crash between send and delete leaves a copy in both.
 * Returns how many messages were moved.
 */
export async function redriveDeadLetters(deadLetter: Queue, queue: Queue, options: RedriveOptions = {}): Promise<number> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().getTime();
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 60;
  const waitSeconds = options.waitSeconds ?? 1;
  const newer: ReceivedMessage[] = [];
  let moved = 0;
  try {
    for (;;) {
      const messages = await deadLetter.receive({ maxMessages: 10, waitSeconds, visibilityTimeoutSeconds });
      const older = messages.filter((message) => message.sentAt.getTime() < startedAt);
      newer.push(...messages.filter((message) => message.sentAt.getTime() >= startedAt));
      if (older.length === 0) {
        if (messages.length === 0) break;
        continue;
      }
      const bodies = older.map((message) => originalBody(message.body));
      for (const body of bodies) await options.beforeSend?.(body);
      await queue.sendBatch(bodies);
      for (const message of older) await deadLetter.delete(message.receiptHandle);
      moved += older.length;
    }
  } finally {
    // Give the ones that arrived during the redrive back at once instead of after the timeout.
    await Promise.allSettled(newer.map((message) => deadLetter.changeVisibility(message.receiptHandle, 0)));
  }
  return moved;
}

/**
 * The message a dead letter stands for: the runtime records a permanent failure as JSON carrying
 * the original `body` with its reason; anything else (moved there by the queue after too many
 * receives) is the original message itself.
 */
export function originalBody(deadLetterBody: string): string {
  try {
    const parsed = JSON.parse(deadLetterBody) as { body?: unknown; reason?: unknown; service?: unknown };
    if (typeof parsed.body === "string" && typeof parsed.reason === "string" && typeof parsed.service === "string") {
      return parsed.body;
    }
  } catch {
    // Not JSON: a raw message moved by the queue.
  }
  return deadLetterBody;
}
