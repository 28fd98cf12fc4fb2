import { setTimeout as sleep } from "node:timers/promises";
import { STAGES, type Stage } from "../../shared/messages.ts";
import type { Queue } from "../../shared/ports.ts";

/** A message found in a dead-letter queue: a permanent-failure record, or a message the queue moved. */
export interface DeadLetter {
  stage: Stage;
  body: string;
  /** How often the queue had delivered it. */
  receiveCount: number;
}

/**
 * Long-polls every stage's dead-letter queue until `signal` aborts, keeping what it finds (and
 * calling `onLetter` each time). For queues private to one run, where any dead letter means a job
 * of the run cannot finish. Returns the function that reads what was found so far.
 */
export function watchDeadLetters(deadLetters: Readonly<Record<Stage, Queue>>, signal: AbortSignal, onLetter: () => void): () => readonly DeadLetter[] {
  const found: DeadLetter[] = [];
  for (const stage of STAGES) {
    void (async () => {
      while (!signal.aborted) {
        try {
          // Received and left hidden: each letter is kept once, and stays in the queue for `vodpipe queues`.
          const messages = await deadLetters[stage].receive({ maxMessages: 10, waitSeconds: 20, visibilityTimeoutSeconds: 43_200, signal });
          for (const message of messages) found.push({ stage, body: message.body, receiveCount: message.receiveCount });
          if (messages.length > 0) onLetter();
        } catch {
          // The queue is closing, or failed for a moment: look again shortly.
          await sleep(1000, undefined, { signal }).catch(() => {});
        }
      }
    })();
  }
  return () => found;
}

/** The job's reason when a dead letter ends it: what the record says, else what the queue did. */
export function deadLetterReason(letter: DeadLetter): string {
  let record: { reason?: unknown; errorName?: unknown } | undefined;
  try {
    record = JSON.parse(letter.body) as typeof record;
  } catch {
    record = undefined;
  }
  const errorName = typeof record?.errorName === "string" ? record.errorName : undefined;
  if (errorName) return `the ${letter.stage} step failed for good (${errorName}) and was set aside in its dead-letter queue; the log has the details`;
  return `the ${letter.stage} step kept failing and its message was set aside in the dead-letter queue; the log has the details`;
}
