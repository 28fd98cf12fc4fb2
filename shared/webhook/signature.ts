import { createHmac, timingSafeEqual } from "node:crypto";

/** The header every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "Vodpipe-Signature";

/** Signs a body the way receivers check it (the scheme Mux and Stripe use). */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * A receiver's check: the signature matches the body and the timestamp is within `toleranceSeconds`
 * of now (an old delivery replayed by someone else fails). Constant time.
 */
export function verifyWebhookSignature(header: string, body: string, secret: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const fields = new Map(header.split(",").map((part) => part.trim().split("=", 2) as [string, string]));
  const timestamp = Number(fields.get("t"));
  const given = fields.get("v1");
  if (!Number.isInteger(timestamp) || !given || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(given, "hex"));
}
