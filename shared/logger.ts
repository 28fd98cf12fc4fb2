import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

export interface LoggerSettings {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs. Services get a child per message: { service, videoId, messageId, attempt }. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { app: "vodpipe" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
