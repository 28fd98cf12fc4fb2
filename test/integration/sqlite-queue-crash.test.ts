import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createSqliteQueueStore, type SqliteQueueStore } from "../../shared/queue/sqlite-queue.ts";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const CHILD = "test/support/queue-crash-child.ts";

interface Child {
  process: ChildProcessWithoutNullStreams;
  /** The next JSON line the child prints on stdout. */
  nextLine(): Promise<Record<string, unknown>>;
}

const children: ChildProcessWithoutNullStreams[] = [];
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function openStore(): { file: string; store: SqliteQueueStore } {
  const dir = mkdtempSync(join(tmpdir(), "vodpipe-queue-crash-"));
  const file = join(dir, "queues.sqlite");
  const store = createSqliteQueueStore({ file });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { file, store };
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ["bin/run-ts.js", CHILD, ...args], { cwd: ROOT });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    process: child,
    async nextLine() {
      const { value, done } = await lines.next();
      if (done) throw new Error(`child exited without output (${child.exitCode ?? child.signalCode}): ${stderr}`);
      return JSON.parse(value) as Record<string, unknown>;
    },
  };
}

describe("SqliteQueue across processes", () => {
  it("delivers a message again after a process holding it is killed with SIGKILL", async () => {
    const { file, store } = openStore();
    const queue = store.queue("crash", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const id = await queue.send('{"videoId":"abc"}');

    const child = startChild(["hold", file, "crash", "2"]);
    expect(await child.nextLine()).toEqual({ event: "received", id, body: '{"videoId":"abc"}', receiveCount: 1 });
    const exited = once(child.process, "exit");
    child.process.kill("SIGKILL");
    expect(await exited).toEqual([null, "SIGKILL"]);

    expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
    expect(await queue.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    const [again] = await queue.receive({ waitSeconds: 4 });
    expect(again).toMatchObject({ id, body: '{"videoId":"abc"}', receiveCount: 2 });
  });

  it("never gives one message to two processes receiving at the same time", async () => {
    const { file, store } = openStore();
    const queue = store.queue("shared", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const ids = await queue.sendBatch(Array.from({ length: 60 }, (_, index) => `job ${index}`));

    const workers = [startChild(["drain", file, "shared", "30"]), startChild(["drain", file, "shared", "30"])];
    for (const worker of workers) expect(await worker.nextLine()).toEqual({ event: "ready" });
    for (const worker of workers) worker.process.stdin.write("go\n");
    const [first, second] = (await Promise.all(workers.map((worker) => worker.nextLine()))).map(
      (line) => line.ids as string[],
    );

    // Both took part (each pauses between receives, so their runs overlap)...
    expect(first!.length).toBeGreaterThan(0);
    expect(second!.length).toBeGreaterThan(0);
    // ...and between them received every message exactly once.
    expect([...first!, ...second!].sort()).toEqual([...ids].sort());
    expect(first!.filter((id) => second!.includes(id))).toEqual([]);
    expect(await queue.depth()).toEqual({ visible: 0, inFlight: 60, delayed: 0 });
  });
});
