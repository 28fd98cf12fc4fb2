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
 * Long-polls every stage's dead-letter queue until `signal` aborts; the first message found is
 * kept (and `onLetter` called). For queues private to one job, where any dead letter means the
 * job cannot finish. Returns the function that reads what was found.
 */
export function watchDeadLetters(deadLetters: Readonly<Record<Stage, Queue>>, signal: AbortSignal, onLetter: () => void): () => DeadLetter | undefined {
  let found: DeadLetter | undefined;
  for (const stage of STAGES) {
    void (async () => {
      while (!signal.aborted && !found) {
        try {
          const [message] = await deadLetters[stage].receive({ maxMessages: 1, waitSeconds: 20, signal });
          if (message && !found) {
            found = { stage, body: message.body, receiveCount: message.receiveCount };
            onLetter();
          }
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
