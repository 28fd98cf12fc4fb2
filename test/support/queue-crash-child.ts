// A second process on an embedded queue file, for test/integration/sqlite-queue-crash.test.ts.
//
//   node bin/run-ts.js test/support/queue-crash-child.ts hold <file> <queue> <visibilitySeconds>
//     receives one message, prints {"event":"received",id,body,receiveCount} and waits to be killed.
//   node bin/run-ts.js test/support/queue-crash-child.ts drain <file> <queue> <visibilitySeconds>
//     prints {"event":"ready"}, waits for a line on stdin, then receives one message at a time
//     (pausing 10 ms after each) until the queue is empty and prints {"event":"drained","ids":[…]}.
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { createSqliteQueueStore } from "../../shared/queue/sqlite-queue.ts";

const [mode, file, queueName, visibility] = process.argv.slice(2);
if (!mode || !file || !queueName || !visibility) {
  console.error("usage: queue-crash-child.ts hold|drain <file> <queue> <visibilitySeconds>");
  process.exit(64);
}
const settings = { visibilityTimeoutSeconds: Number(visibility), maxReceiveCount: 5 };
const store = createSqliteQueueStore({ file });
const queue = store.queue(queueName, settings);
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (mode === "hold") {
  const [message] = await queue.receive({ waitSeconds: 10 });
  if (!message) {
    print({ event: "empty" });
    process.exit(1);
  }
  print({ event: "received", id: message.id, body: message.body, receiveCount: message.receiveCount });
  // Keep the message (and the process) until the test kills us.
  setInterval(() => {}, 60_000);
} else if (mode === "drain") {
  print({ event: "ready" });
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once("line", resolve));
  lines.close();
  const ids: string[] = [];
  for (;;) {
    const [message] = await queue.receive({ waitSeconds: 0 });
    if (!message) break;
    ids.push(message.id);
    // A pause, so that two draining processes overlap rather than one taking everything.
    await sleep(10);
  }
  print({ event: "drained", ids });
  store.close();
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(64);
}
