/**
 * The error taxonomy every service and the runtime share.
 *
 * PermanentError: the input can never succeed (not a video, invalid message). The runtime acks
 *   the message and the job is marked `failed` with `reason`, never retried.
 * RetryableError: a transient fault (network, throttling, a killed process). The runtime releases
 *   the message with a backoff; after `maxReceiveCount` receives the queue dead-letters it.
 * Anything else counts as retryable, bounded by the receive count.
 */
export interface ErrorContext {
  videoId?: string;
  messageId?: string;
  cause?: unknown;
}

/** The base of both kinds: keeps `cause` and the video and message the error is about. */
abstract class PipelineError extends Error {
  readonly videoId?: string;
  readonly messageId?: string;

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.videoId = context.videoId;
    this.messageId = context.messageId;
  }
}

export class PermanentError extends PipelineError {
  override readonly name: string = "PermanentError";
}

export class RetryableError extends PipelineError {
  override readonly name: string = "RetryableError";
}

/** A rejected upload: the job ends `failed` with this message as the reason shown to people. */
export class InvalidMediaError extends PermanentError {
  override readonly name = "InvalidMediaError";
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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
