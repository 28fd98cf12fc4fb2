import { constants as osConstants } from "node:os";
import type { Logger } from "../logger.ts";
import type { Worker } from "./worker.ts";

/** The exit status of a process ended by `signal`, as shells report it (SIGINT 130, SIGTERM 143). */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/**
 * SIGTERM/SIGINT call `onFirst`; a second signal calls `onRepeat`, then exits at once with the
 * signal's status. Returns the function that removes the handlers again.
 */
export function onStopSignals(onFirst: (signal: NodeJS.Signals) => void, onRepeat: (signal: NodeJS.Signals) => void = () => {}): () => void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      onRepeat(signal);
      process.exit(exitCodeForSignal(signal));
    }
    signalled = true;
    onFirst(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}

/**
 * For entry files: SIGTERM/SIGINT stop every worker gracefully; a second signal exits at once.
 * Resolves when all workers are done (the handlers are then removed again).
 */
export function runUntilSignalled(workers: readonly Worker[], logger: Logger): Promise<void> {
  const removeHandlers = onStopSignals(
    (signal) => {
      logger.info({ signal }, "signal received; stopping workers");
      for (const worker of workers) void worker.stop();
    },
    (signal) => logger.warn({ signal }, "second signal; exiting without waiting"),
  );
  return Promise.all(workers.map((worker) => worker.done)).then(removeHandlers);
}
