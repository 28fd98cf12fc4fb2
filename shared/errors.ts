/**
 * The error taxonomy every service and the runtime share.
 *
 * PermanentError: the input can never succeed (not a video, invalid message). The runtime acks
 *   the message and the job is marked `failed` with a reason, never retried.
 * RetryableError: a transient fault (network, throttling, a killed process). The runtime releases
 *   the message with a backoff; after `maxReceiveCount` receives the queue dead-letters it.
 * InfrastructureError: a RetryableError that is the deployment's or the machine's fault (an AWS
 *   error, a full disk, a message meant for another worker): retried and dead-lettered, and it
 *   never fails a video, not even on the last receive.
 * Anything else counts as retryable, bounded by the receive count.
 *
 * An error's `message` is for the log (command lines, paths, stderr); `reason` is what a person
 * is told. publicReason() picks the words and markFailed() refuses anything that is not words.
 */
export interface ErrorContext {
  videoId?: string;
  messageId?: string;
  cause?: unknown;
  /** A sentence for people (the job's reason): no command line, no path. */
  reason?: string;
}

/** The base of every kind: keeps `cause`, the video and message the error is about, and the reason. */
abstract class PipelineError extends Error {
  readonly videoId?: string;
  readonly messageId?: string;
  readonly reason?: string;

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.videoId = context.videoId;
    this.messageId = context.messageId;
    this.reason = context.reason;
  }
}

export class PermanentError extends PipelineError {
  override readonly name: string = "PermanentError";
}

export class RetryableError extends PipelineError {
  override readonly name: string = "RetryableError";
}

/** Not the video's fault: an AWS error, a full disk, a worker that cannot read the message yet. */
export class InfrastructureError extends RetryableError {
  override readonly name: string = "InfrastructureError";
}

/**
 * A valid-looking message this worker must not handle but another may: a newer `version` (a
 * rolling deploy) or another stage's type on this queue. It goes back to the queue.
 */
export class ForeignMessageError extends InfrastructureError {
  override readonly name = "ForeignMessageError";
}

/**
 * The queue refused to extend a message's visibility because this receipt is no longer current:
 * the message was received again (by another worker) or deleted. The handler has lost it.
 */
export class StaleReceiptError extends InfrastructureError {
  override readonly name = "StaleReceiptError";
}

/** A rejected upload: the job ends `failed` with this message as the reason shown to people. */
export class InvalidMediaError extends PermanentError {
  override readonly name = "InvalidMediaError";
  constructor(message: string, context: ErrorContext = {}) {
    super(message, { reason: message, ...context });
  }
}

/** A message that does not match any schema: dead-lettered with the validation details. */
export class InvalidMessageError extends PermanentError {
  override readonly name = "InvalidMessageError";
}

/** A setting that is missing, malformed or contradicts another; names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super(message);
  }
}

/** An object key that is empty, absolute, contains `..` or NUL, or otherwise unsafe. */
export class InvalidKeyError extends PermanentError {
  override readonly name = "InvalidKeyError";
}

/** A missing object (get/head of a key that does not exist). */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
  }
}

export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

/** Node's codes for a machine out of room: the operator's problem, retried in every stage. */
const RESOURCE_CODES = new Set(["ENOSPC", "EDQUOT", "EMFILE", "ENFILE", "ENOMEM", "SQLITE_FULL"]);

/**
 * True for a fault of the deployment or the machine (anywhere in the `cause` chain): such a
 * failure is retried and dead-lettered but never marks a video failed.
 */
export function isInfrastructureFault(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof InfrastructureError) return true;
  }
  return resourceCode(error) !== undefined;
}

/** The machine-out-of-room code anywhere in the `cause` chain. */
function resourceCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && RESOURCE_CODES.has(code)) return code;
  }
  return undefined;
}

/** The reason shown for an error that carries no words of its own. */
const INTERNAL_REASON = "vodpipe could not finish processing this video because of an internal fault; the operator's logs have the details";
const RESOURCE_REASON = "the processing server ran out of disk space, files or memory; vodpipe retries once there is room";
const INFRASTRUCTURE_REASON = "the storage or queue service was not available; vodpipe keeps retrying until an operator fixes it";
const MAX_REASON_LENGTH = 400;

/**
 * What a person is told about `error`: its `reason` when it has one, otherwise a plain sentence
 * by kind. The detail (command line, stderr, paths) stays in the error's message, for the log.
 */
export function publicReason(error: unknown): string {
  const reason = error instanceof PipelineError ? error.reason : undefined;
  if (reason) return sanitizeReason(reason);
  if (isInfrastructureFault(error)) return resourceCode(error) ? RESOURCE_REASON : INFRASTRUCTURE_REASON;
  if (error instanceof InvalidMessageError) {
    return "vodpipe received a message about this video that it cannot read; the operator's dead-letter queue has it";
  }
  return INTERNAL_REASON;
}

/**
 * Makes `text` fit to show a person: one line, no absolute path (temp folders, the data folder),
 * no command line, at most 400 characters. Text that is mostly a command line becomes the
 * generic sentence: a reason that would need the log to understand is no reason.
 */
export function sanitizeReason(text: string): string {
  const firstLine = text.split(/\r?\n/).find((line) => line.trim())?.trim() ?? "";
  if (!firstLine || looksLikeCommandLine(firstLine)) return INTERNAL_REASON;
  const withoutPaths = firstLine
    .replace(/(?<=^|[\s"'(=])(?:file:)?(?:[A-Za-z]:)?(?:[\\/][^\s\\/'"():,;]+){2,}[\\/]?/g, "(a file)")
    .replace(/\s+/g, " ");
  return withoutPaths.length > MAX_REASON_LENGTH ? `${withoutPaths.slice(0, MAX_REASON_LENGTH - 1)}…` : withoutPaths;
}

function looksLikeCommandLine(line: string): boolean {
  return /(^|[\s/"])(ffmpeg|ffprobe)"?\s+(-\S+|file:)/.test(line) || /\s-(i|c|map|f|v)\s+\S/.test(line);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
