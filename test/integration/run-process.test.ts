import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessTimeoutError, runProcess } from "../../shared/media/run-process.ts";
import { onChildrenChanged, type TrackedChild } from "../../shared/media/child-processes.ts";
import { until } from "../support/wait.ts";

/** True while a process with this pid exists (and is not a zombie). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

describe("runProcess deadlines and process groups", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vodpipe-run-process-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("kills a tool that passes its deadline, and what it started, with a retryable ProcessTimeoutError", async () => {
    const pidFile = join(dir, "grandchild.pid");
    const seen: TrackedChild[][] = [];
    const stop = onChildrenChanged((children) => seen.push([...children]));
    const run = runProcess("/bin/sh", ["-c", `sleep 300 & echo $! > ${pidFile}; wait`], { deadlineSeconds: 1, killGraceSeconds: 1 });
    await expect(run).rejects.toBeInstanceOf(ProcessTimeoutError);
    await expect(run).rejects.toThrow(/sh ran longer than its 1 s deadline and was stopped/);
    stop();
    const grandchild = Number(await readFile(pidFile, "utf8"));
    await until("the grandchild to be gone", async () => !(await alive(grandchild)), 10);
    // It was tracked while it ran, and forgotten once it ended.
    expect(seen.some((children) => children.some((child) => child.binary === "/bin/sh"))).toBe(true);
    expect(seen.at(-1)).toEqual([]);
  });

  it("follows SIGTERM with SIGKILL after the grace when the tool ignores it", async () => {
    const run = runProcess("/bin/sh", ["-c", "trap '' TERM; sleep 300 & wait; sleep 300"], { deadlineSeconds: 0.5, killGraceSeconds: 0.5 });
    await expect(run).rejects.toBeInstanceOf(ProcessTimeoutError);
  });

  it("kills the whole group at once when aborted", async () => {
    const pidFile = join(dir, "aborted.pid");
    const abort = new AbortController();
    const run = runProcess("/bin/sh", ["-c", `sleep 300 & echo $! > ${pidFile}; wait`], { signal: abort.signal });
    await until("the grandchild to start", async () => (await readFile(pidFile, "utf8").catch(() => "")).trim() !== "", 10);
    abort.abort(new Error("stop"));
    await expect(run).rejects.toThrow(/killed by SIGKILL/);
    const grandchild = Number(await readFile(pidFile, "utf8"));
    await until("the grandchild to be gone", async () => !(await alive(grandchild)), 10);
  });

  it("leaves a quick tool alone", async () => {
    const { stdout } = await runProcess("/bin/sh", ["-c", "echo ok"], { deadlineSeconds: 30 });
    expect(stdout.toString()).toBe("ok\n");
  });

  it("runs bulk work at a lower priority: its own nice value and its session's scheduling group", async () => {
    // The shell's own stat (the process whose priority was set) and its session's group, read by
    // a child (a new process of the session is in the group whatever its start time).
    const run = runProcess("/bin/sh", ["-c", "sleep 0.2; cat /proc/$$/stat; cat /proc/self/autogroup 2>/dev/null || true"], { niceness: 10 });
    const output = (await run).stdout.toString("utf8");
    // Field 19 of /proc/<pid>/stat, counted after the command name in parentheses.
    const fields = output.slice(output.indexOf(")") + 2).split(" ");
    expect(Number(fields[16])).toBe(10);
    if (/autogroup/.test(output)) expect(output).toMatch(/autogroup-\d+ nice 10/);
  });
});
