/**
 * A worker process for test/integration/worker-sigterm.test.ts: one message on a memory queue,
 * a handler that takes HANDLER_MS (default 1500). Prints one JSON line per event on stdout.
 */
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "../../shared/logger.ts";
import type { Queue } from "../../shared/ports.ts";
import { createWorker } from "../../shared/consumer/worker.ts";
import { runUntilSignalled } from "../../shared/consumer/stop-signals.ts";
import { createMemoryQueue } from "./memory-queue.ts";

const handlerMs = Number(process.env.HANDLER_MS ?? 1500);
const print = (event: string, fields: Record<string, unknown> = {}) => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const memory = createMemoryQueue("sigterm", { visibilityTimeoutSeconds: 5, maxReceiveCount: 3 });
const queue: Queue = {
  ...memory,
  async delete(receiptHandle) {
    await memory.delete(receiptHandle);
    print("deleted", { receiptHandle });
  },
};
await memory.send(JSON.stringify({ videoId: "v1" }));

const logger = createLogger({ level: "warn", destination: process.stderr });
const worker = createWorker({
  service: "sigterm-test",
  queue,
  logger,
  concurrency: 1,
  waitSeconds: 20,
  visibilityTimeoutSeconds: 5,
  heartbeatSeconds: 1,
  stopGraceSeconds: 10,
  handle: async (message) => {
    print("handler-started", { messageId: message.id });
    await delay(handlerMs);
    print("handler-finished", { messageId: message.id });
  },
});

process.on("exit", (code) => print("exited", { code }));
worker.start();
await runUntilSignalled([worker], logger);
print("stopped", { left: memory.snapshot().length });
