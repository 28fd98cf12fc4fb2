import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../shared/logger.ts";

/** A debug-level logger whose JSON lines are collected for assertions. */
export function captureLogs(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: "debug", destination }), lines };
}
