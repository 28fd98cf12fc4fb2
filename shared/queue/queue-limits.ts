/**
 * SQS's limits on the Queue port's arguments. Every adapter checks them the same way, so a call
 * that works on the embedded queue also works on SQS.
 */
export const QUEUE_LIMITS = {
  delaySeconds: { min: 0, max: 900 },
  maxMessages: { min: 1, max: 10 },
  waitSeconds: { min: 0, max: 20 },
  visibilityTimeoutSeconds: { min: 0, max: 43_200 },
  maxReceiveCount: { min: 1, max: 1000 },
} as const;

export type QueueLimit = keyof typeof QUEUE_LIMITS;

/** Returns `value` when it is a whole number within the limit; a RangeError naming `what` otherwise. */
export function checkQueueArgument(limit: QueueLimit, value: number, what: string = limit): number {
  const { min, max } = QUEUE_LIMITS[limit];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
