import { PermanentError, RetryableError } from "./errors.ts";

interface AwsLikeError {
  name?: string;
  message?: string;
  $retryable?: { throttling?: boolean };
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

/**
 * Turns an AWS SDK error into the project's taxonomy: throttling, 5xx, timeouts and network
 * failures are retryable; other client faults (4xx: access denied, no such bucket) are permanent.
 */
export function classifyAwsError(error: unknown, what: string): Error {
  if (error instanceof PermanentError || error instanceof RetryableError) return error;
  const aws = (error ?? {}) as AwsLikeError;
  const status = aws.$metadata?.httpStatusCode;
  const detail = `${what}: ${aws.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${aws.message ?? String(error)}`;
  const retryable =
    aws.$retryable !== undefined ||
    aws.$fault === "server" ||
    status === undefined ||
    status === 408 ||
    status === 429 ||
    status >= 500;
  return retryable ? new RetryableError(detail, { cause: error }) : new PermanentError(detail, { cause: error });
}
