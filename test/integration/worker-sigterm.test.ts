import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
});

interface Run {
  events: Record<string, unknown>[];
  /** Resolves with the first event of this name. */
  waitFor(event: string): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(handlerMs: number): Run {
  const proc = spawn(process.execPath, ["bin/run-ts.js", "test/support/sigterm-child.ts"], {
    cwd: ROOT,
    env: { ...process.env, HANDLER_MS: String(handlerMs) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  const events: Record<string, unknown>[] = [];
  const listeners: (() => void)[] = [];
  let buffered = "";
  let stderr = "";
  proc.stderr!.on("data", (chunk) => (stderr += chunk));
  proc.stdout!.on("data", (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      events.push(JSON.parse(buffered.slice(0, newline)));
      buffered = buffered.slice(newline + 1);
      for (const listener of [...listeners]) listener();
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    events,
    exit,
    waitFor: (name) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (events.some((event) => event.event === name)) resolve();
        };
        listeners.push(check);
        check();
        void exit.then(() => reject(new Error(`child exited before "${name}"; stderr: ${stderr}`)));
      }),
  };
}

describe("a worker process on SIGTERM", () => {
  it("lets the running handler finish, deletes the message and exits with 0", async () => {
    const run = startChild(1500);
    await run.waitFor("handler-started");
    child!.kill("SIGTERM");
    const { code, signal } = await run.exit;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(run.events.map((event) => event.event)).toEqual([
      "handler-started",
      "handler-finished",
      "deleted",
      "stopped",
      "exited",
    ]);
    expect(run.events).toContainEqual({ event: "deleted", receiptHandle: "sigterm-1#1" });
    expect(run.events).toContainEqual({ event: "stopped", left: 0 });
  });

  it("exits at once on a second signal", async () => {
    const run = startChild(20_000);
    await run.waitFor("handler-started");
    const signalledAt = Date.now();
    child!.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    child!.kill("SIGTERM");
    const { code } = await run.exit;

    expect(code).toBe(143);
    expect(Date.now() - signalledAt).toBeLessThan(2000);
    expect(run.events.map((event) => event.event)).toEqual(["handler-started", "exited"]);
  });
});
