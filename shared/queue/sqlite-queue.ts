import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { InfrastructureError, RetryableError, StaleReceiptError } from "../errors.ts";
import type { Queue, QueueDepth, QueueSettings, ReceivedMessage, ReceiveOptions, SendOptions } from "../ports.ts";
import { checkQueueArgument } from "./queue-limits.ts";

/**
 * The embedded queue: every queue lives in one SQLite file, so several processes (the all-in-one
 * process, workers) can share it, and a message's visibility survives a crash of the process
 * that received it (`kill -9`: the message comes back after its visibility timeout).
 *
 * Semantics follow SQS standard queues: at-least-once, visibility timeout, receive count, and
 * redrive to `<queue>-dlq` when a message already received `maxReceiveCount` times would be
 * received again. A receipt handle is valid until the message is received again or deleted:
 * delete with a stale handle does nothing; changeVisibility with a stale handle throws a
 * RetryableError and leaves the newer receive alone (as SqsQueue does).
 */
export interface SqliteQueueStoreOptions {
  file: string;
  /**
   * How often this process checks whether another process wrote to the file (one cheap
   * `PRAGMA data_version` per process, made only while some receive is waiting).
   */
  pollIntervalMs?: number;
  /** How long a statement waits for another process's write lock before failing (retryably). */
  busyTimeoutMs?: number;
}

export interface SqliteQueueStore {
  readonly file: string;
  /** A queue whose messages move to `<queueName>-dlq` once received `maxReceiveCount` times. */
  queue(queueName: string, settings: QueueSettings & { name?: string }): Queue;
  /** The dead-letter twin of `queueName` (stored as `<queueName>-dlq`); it has no redrive itself. */
  deadLetterQueue(queueName: string, settings: { visibilityTimeoutSeconds: number; name?: string }): Queue;
  /**
   * Deletes every message of every queue whose name starts with `prefix` (dead-letter twins
   * included): the private queues of a `vodpipe process` run that is gone. Returns how many.
   */
  dropQueues(prefix: string): number;
  /** Ends waiting receives (they return no messages) and closes the file. */
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_receipt ON messages (receipt) WHERE receipt IS NOT NULL;
`;

interface MessageRow {
  seq: number;
  id: string;
  body: string;
  sent_at: number;
  receive_count: number;
}

interface Redrive {
  deadLetterQueueName: string;
  maxReceiveCount: number;
}

export function deadLetterQueueName(queueName: string): string {
  return `${queueName}-dlq`;
}

/**
 * better-sqlite3 12 wraps databases and statements in node::ObjectWrap. Built against Node 24.19+
 * headers, a wrapper that the garbage collector frees outside a JavaScript context (an idle-time
 * GC) aborts the process: "Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook.
 * So no wrapper is ever left for the collector: every statement is prepared once when the store
 * opens (`db.pragma()` would prepare a new one per call), and the database and its statements are
 * held here until the process exits, closed ones included (closing frees their SQLite memory; what
 * stays is a few small objects per store). better-sqlite3 13 fixes this but needs Node 22.
 */
const keepForProcessLifetime = new Set<object>();

/** Opens (creating if needed) the SQLite file that holds every embedded queue. */
export function createSqliteQueueStore(options: SqliteQueueStoreOptions): SqliteQueueStore {
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  mkdirSync(dirname(options.file), { recursive: true });
  const db = new Database(options.file, { timeout: options.busyTimeoutMs ?? 5000 });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(SCHEMA);

  // Wakes receives waiting in this process when a message is sent here. Writes by other
  // processes are noticed by a ticker, and delays and visibility timeouts that run out by a timer
  // set to the queue's next visible message: nothing re-reads the queue while it cannot change.
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);
  const CLOSED = Symbol("closed");
  const OTHER_PROCESS_WROTE = Symbol("another process wrote");
  let closed = false;
  const otherProcesses = watchOtherProcesses(db, pollIntervalMs, () => arrivals.emit(OTHER_PROCESS_WROTE));

  const statements = {
    insert: db.prepare<[string, string, string, number, number]>(
      "INSERT INTO messages (queue, id, body, sent_at, visible_at) VALUES (?, ?, ?, ?, ?)",
    ),
    anyVisible: db
      .prepare<[string, number]>("SELECT 1 FROM messages WHERE queue = ? AND visible_at <= ? LIMIT 1")
      .pluck(),
    nextVisibleAt: db
      .prepare<[string, number], number | null>("SELECT MIN(visible_at) FROM messages WHERE queue = ? AND visible_at > ?")
      .pluck(),
    selectVisible: db.prepare<[string, number, number], MessageRow>(
      `SELECT rowid AS seq, id, body, sent_at, receive_count FROM messages
       WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, rowid LIMIT ?`,
    ),
    markReceived: db.prepare<[string, number, number]>(
      "UPDATE messages SET receipt = ?, visible_at = ?, receive_count = receive_count + 1 WHERE rowid = ?",
    ),
    moveToDeadLetter: db.prepare<[string, number, number]>(
      "UPDATE messages SET queue = ?, receipt = NULL, visible_at = ? WHERE rowid = ?",
    ),
    delete: db.prepare<[string, string]>("DELETE FROM messages WHERE queue = ? AND receipt = ?"),
    // substr, not LIKE: a prefix may hold '_', which LIKE reads as a wildcard.
    dropQueues: db.prepare<[number, string, string]>("DELETE FROM messages WHERE substr(queue, 1, ?) = ? AND length(?) > 0"),
    changeVisibility: db.prepare<[number, string, string]>(
      "UPDATE messages SET visible_at = ? WHERE queue = ? AND receipt = ?",
    ),
    depth: db.prepare<[number, number, number, string], { visible: number | null; inFlight: number | null; delayed: number | null }>(
      `SELECT SUM(visible_at <= ?) AS visible,
              SUM(visible_at > ? AND receive_count > 0) AS inFlight,
              SUM(visible_at > ? AND receive_count = 0) AS delayed
       FROM messages WHERE queue = ?`,
    ),
  };

  keepForProcessLifetime.add(db).add(statements);

  const insertMany = db.transaction((queueName: string, bodies: string[], now: number) =>
    bodies.map((body) => {
      const id = randomUUID();
      statements.insert.run(queueName, id, body, now, now);
      return id;
    }),
  );

  /** One transaction: pick visible messages, dead-letter those past the limit, hide the rest. */
  const receiveMany = db.transaction(
    (queueName: string, max: number, visibilityMs: number, redrive: Redrive | undefined): { received: ReceivedMessage[]; deadLettered: boolean } => {
      const now = Date.now();
      const received: ReceivedMessage[] = [];
      let deadLettered = false;
      const seen = new Set<number>();
      let movedAny = true;
      // Select again only when messages went to the dead-letter queue and left room in the batch.
      while (received.length < max && movedAny) {
        movedAny = false;
        for (const row of statements.selectVisible.all(queueName, now, max - received.length)) {
          if (seen.has(row.seq)) continue;
          seen.add(row.seq);
          if (redrive && row.receive_count >= redrive.maxReceiveCount) {
            statements.moveToDeadLetter.run(redrive.deadLetterQueueName, now, row.seq);
            movedAny = true;
            deadLettered = true;
            continue;
          }
          const receiptHandle = randomUUID();
          statements.markReceived.run(receiptHandle, now + visibilityMs, row.seq);
          received.push({
            id: row.id,
            body: row.body,
            receiptHandle,
            receiveCount: row.receive_count + 1,
            sentAt: new Date(row.sent_at),
          });
        }
      }
      return { received, deadLettered };
    },
  );

  /** Runs a statement; lock timeouts and I/O faults are retryable, a closed store is an error. */
  function run<T>(what: string, fn: () => T): T {
    if (closed) throw new Error(`${what}: the queue store ${options.file} is closed`);
    try {
      return fn();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/.test(code)) {
        throw new InfrastructureError(`${what}: ${(error as Error).message} (${code})`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Resolves after `ms`, when a message is sent to `queueName` in this process, when another
   * process writes to the file, on abort or on close.
   */
  function waitForArrival(queueName: string, ms: number, signal: AbortSignal | undefined, fileVersion: unknown): Promise<void> {
    otherProcesses.watch(fileVersion);
    return new Promise((resolve) => {
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        arrivals.off(queueName, done);
        arrivals.off(OTHER_PROCESS_WROTE, done);
        arrivals.off(CLOSED, done);
        signal?.removeEventListener("abort", done);
        otherProcesses.unwatch();
        resolve();
      };
      const timer = setTimeout(done, ms);
      arrivals.on(queueName, done);
      arrivals.on(OTHER_PROCESS_WROTE, done);
      arrivals.on(CLOSED, done);
      signal?.addEventListener("abort", done);
    });
  }

  function createQueue(queueName: string, name: string, visibilityTimeoutSeconds: number, redrive?: Redrive): Queue {
    const what = (action: string) => `embedded queue ${queueName}: ${action}`;

    const tryReceive = (max: number, visibilityMs: number): ReceivedMessage[] => {
      const { received, deadLettered } = run(what("receive"), () => {
        // A plain read first, so idle receives do not take the write lock.
        if (!statements.anyVisible.get(queueName, Date.now())) return { received: [], deadLettered: false };
        return receiveMany.immediate(queueName, max, visibilityMs, redrive);
      });
      if (deadLettered && redrive) arrivals.emit(redrive.deadLetterQueueName);
      return received;
    };

    /** Milliseconds until a delayed or in-flight message of this queue becomes visible, if any. */
    const untilNextVisible = (): number | undefined => {
      const now = Date.now();
      const at = run(what("receive"), () => statements.nextVisibleAt.get(queueName, now));
      return typeof at === "number" ? Math.max(1, at - now) : undefined;
    };

    return {
      name,

      async send(body: string, sendOptions: SendOptions = {}): Promise<string> {
        const delaySeconds = checkQueueArgument("delaySeconds", sendOptions.delaySeconds ?? 0);
        const now = Date.now();
        const id = randomUUID();
        run(what("send"), () => statements.insert.run(queueName, id, body, now, now + delaySeconds * 1000));
        if (delaySeconds === 0) arrivals.emit(queueName);
        return id;
      },

      async sendBatch(bodies: string[]): Promise<string[]> {
        if (bodies.length === 0) return [];
        const ids = run(what("send batch"), () => insertMany.immediate(queueName, bodies, Date.now()));
        arrivals.emit(queueName);
        return ids;
      },

      async receive(receiveOptions: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
        const max = checkQueueArgument("maxMessages", receiveOptions.maxMessages ?? 1);
        const waitSeconds = checkQueueArgument("waitSeconds", receiveOptions.waitSeconds ?? 0);
        const visibility = checkQueueArgument("visibilityTimeoutSeconds", receiveOptions.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds);
        const { signal } = receiveOptions;
        const deadline = Date.now() + waitSeconds * 1000;
        while (!signal?.aborted && !closed) {
          // Read before looking, so a write by another process after the look is never missed.
          const fileVersion = otherProcesses.version();
          const received = tryReceive(max, visibility * 1000);
          const left = deadline - Date.now();
          if (received.length > 0 || left <= 0) return received;
          await waitForArrival(queueName, Math.min(untilNextVisible() ?? left, left), signal, fileVersion);
        }
        return [];
      },

      async delete(receiptHandle: string): Promise<void> {
        run(what("delete"), () => statements.delete.run(queueName, receiptHandle));
      },

      async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
        checkQueueArgument("visibilityTimeoutSeconds", seconds, "seconds");
        const result = run(what("change visibility"), () =>
          statements.changeVisibility.run(Date.now() + seconds * 1000, queueName, receiptHandle),
        );
        if (result.changes === 0) {
          throw new StaleReceiptError(
            `${what("change visibility")}: stale receipt handle (the message was received again or deleted)`,
          );
        }
        if (seconds === 0) arrivals.emit(queueName);
      },

      async depth(): Promise<QueueDepth> {
        const now = Date.now();
        const row = run(what("depth"), () => statements.depth.get(now, now, now, queueName));
        return { visible: row?.visible ?? 0, inFlight: row?.inFlight ?? 0, delayed: row?.delayed ?? 0 };
      },
    };
  }

  return {
    file: options.file,
    queue(queueName, settings) {
      checkQueueArgument("maxReceiveCount", settings.maxReceiveCount);
      return createQueue(queueName, settings.name ?? queueName, settings.visibilityTimeoutSeconds, {
        deadLetterQueueName: deadLetterQueueName(queueName),
        maxReceiveCount: settings.maxReceiveCount,
      });
    },
    deadLetterQueue(queueName, settings) {
      const dlq = deadLetterQueueName(queueName);
      return createQueue(dlq, settings.name ?? dlq, settings.visibilityTimeoutSeconds);
    },
    dropQueues(prefix) {
      return statements.dropQueues.run(prefix.length, prefix, prefix).changes;
    },
    close() {
      if (closed) return;
      closed = true;
      arrivals.emit(CLOSED);
      otherProcesses.stop();
      db.close();
    },
  };
}

/**
 * `PRAGMA data_version` changes when another connection (another process) commits to the file;
 * a ticker reads it while at least one receive waits and reports a change.
 */
function watchOtherProcesses(db: Database.Database, intervalMs: number, onChange: () => void) {
  let waiting = 0;
  let ticker: NodeJS.Timeout | undefined;
  let version: unknown;
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  keepForProcessLifetime.add(dataVersion);
  const read = () => dataVersion.get();
  const stop = () => {
    clearInterval(ticker);
    ticker = undefined;
  };
  return {
    version: read,
    /** `seen`: the version the waiter read before it last looked at the queue. */
    watch(seen: unknown) {
      waiting += 1;
      if (ticker) return;
      version = seen;
      ticker = setInterval(() => {
        const now = read();
        if (now === version) return;
        version = now;
        onChange();
      }, intervalMs);
      ticker.unref();
    },
    unwatch() {
      waiting -= 1;
      if (waiting === 0) stop();
    },
    stop,
  };
}
