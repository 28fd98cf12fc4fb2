/**
 * The media tools this process is running, each the leader of its own process group. Kept
 * process-wide because a process group outlives whoever started it: on exit (also a second
 * Ctrl-C's process.exit) every group still running is killed, and a listener (the run file of
 * `vodpipe process`) can record the groups so a later run can clean up after a `kill -9`.
 */
export interface TrackedChild {
  pid: number;
  binary: string;
}

type Listener = (children: readonly TrackedChild[]) => void;

const running = new Map<number, TrackedChild>();
const listeners = new Set<Listener>();
let exitHookInstalled = false;

function changed(): void {
  const snapshot = [...running.values()];
  for (const listener of listeners) listener(snapshot);
}

/** Records a child (the leader of process group `pid`); returns the function that forgets it. */
export function trackChild(pid: number, binary: string): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", killAllChildren);
  }
  running.set(pid, { pid, binary });
  changed();
  return () => {
    if (running.delete(pid)) changed();
  };
}

/** Calls `listener` with the running children now and after every change; returns the unsubscribe. */
export function onChildrenChanged(listener: Listener): () => void {
  listeners.add(listener);
  listener([...running.values()]);
  return () => listeners.delete(listener);
}

/** Sends `signal` to the process group led by `pid`; a group already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has ended.
  }
}

/** SIGKILLs every tracked group (synchronous: safe in an exit handler). */
export function killAllChildren(): void {
  for (const { pid } of running.values()) killGroup(pid, "SIGKILL");
}
