import { InfrastructureError, PermanentError, RetryableError } from "./errors.ts";

interface AwsLikeError {
  name?: string;
  Code?: string;
  message?: string;
  $retryable?: { throttling?: boolean };
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

/** Why an AWS call failed, as the log and the operator want it said. */
export type AwsFaultKind = "throttling" | "server" | "timeout" | "network" | "credentials" | "permissions" | "missing-resource" | "client";

const THROTTLING = /Throttl|SlowDown|TooManyRequests|RequestLimitExceeded|ProvisionedThroughputExceeded|RequestThrottled|OverLimit/i;
const TIMEOUT = /RequestTimeout|TimeoutError|ETIMEDOUT|ESOCKETTIMEDOUT|socket hang up/i;
const NETWORK = /ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|NetworkingError|Premature close|aborted/i;
const CREDENTIALS = /ExpiredToken|InvalidAccessKeyId|SignatureDoesNotMatch|RequestTimeTooSkewed|InvalidClientTokenId|UnrecognizedClient|MissingAuthenticationToken|InvalidSecurity|CredentialsProviderError|TokenRefreshRequired/i;
const PERMISSIONS = /AccessDenied|Forbidden|AllAccessDisabled|KMS\.|AuthorizationError|InvalidObjectState/i;
const MISSING = /NoSuchBucket|QueueDoesNotExist|NonExistentQueue|NoSuchUpload|QueueDeletedRecently/i;

/** The kind of an AWS SDK error, from its name, code, `$retryable`, `$fault` and HTTP status. */
export function awsFaultKind(error: unknown): AwsFaultKind {
  const aws = (error ?? {}) as AwsLikeError;
  const status = aws.$metadata?.httpStatusCode;
  const names = `${aws.name ?? ""} ${aws.Code ?? ""} ${(error as { code?: unknown })?.code ?? ""}`;
  if (aws.$retryable?.throttling || status === 429 || THROTTLING.test(names)) return "throttling";
  if (TIMEOUT.test(names) || status === 408 || status === 504) return "timeout";
  if (CREDENTIALS.test(names)) return "credentials";
  if (PERMISSIONS.test(names) || status === 403) return "permissions";
  if (MISSING.test(names)) return "missing-resource";
  if (aws.$fault === "server" || (status !== undefined && status >= 500)) return "server";
  if (status === undefined || NETWORK.test(`${names} ${aws.message ?? ""}`)) return "network";
  return "client";
}

const REASONS: Record<AwsFaultKind, string> = {
  throttling: "the cloud storage or queue service is throttling requests",
  server: "the cloud storage or queue service had an internal error",
  timeout: "a request to the cloud storage or queue service timed out",
  network: "the cloud storage or queue service could not be reached",
  credentials: "the processing server's cloud credentials were refused (expired, wrong, or its clock is off)",
  permissions: "the processing server is not allowed to use the bucket or queue (a deployment's permissions)",
  "missing-resource": "the bucket or queue the deployment names does not exist",
  client: "the cloud storage or queue service refused a request",
};

/**
 * Turns an AWS SDK error into the project's taxonomy. Every AWS failure is the deployment's or
 * the service's, never the video's: throttling, 5xx, timeouts and network failures pass, and
 * expired credentials, a skewed clock, AccessDenied or a missing bucket or queue are what a bad
 * deploy looks like. All are InfrastructureError: retried, then dead-lettered, never a failed video.
 * The one exception is a byte range past the object's end (416), which no retry can satisfy.
 */
export function classifyAwsError(error: unknown, what: string): Error {
  if (error instanceof PermanentError || error instanceof RetryableError) return error;
  const aws = (error ?? {}) as AwsLikeError;
  const status = aws.$metadata?.httpStatusCode;
  if (status === 416 || aws.name === "InvalidRange") return new PermanentError(`${what}: the byte range is not satisfiable`, { cause: error });
  const kind = awsFaultKind(error);
  const detail = `${what}: ${aws.name ?? "Error"}${status ? ` (HTTP ${status})` : ""} [${kind}]: ${aws.message ?? String(error)}`;
  return new InfrastructureError(detail, { cause: error, reason: `${REASONS[kind]}; vodpipe retries until it works again` });
}
