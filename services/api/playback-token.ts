import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signed playback: a token bound to one video and an expiry, `<expiry base 36>.<HMAC-SHA256>`.
 * It sits in the URL path (`/v1/play/<token>/<id>/hls/…`), so the relative URIs in playlists and
 * the storyboard VTT carry it along without rewriting any file.
 */
export function signPlaybackToken(videoId: string, expiresAtSeconds: number, key: string): string {
  const expiry = expiresAtSeconds.toString(36);
  return `${expiry}.${mac(videoId, expiry, key)}`;
}

export type TokenCheck = { ok: true } | { ok: false; problem: "malformed" | "expired" | "invalid" };

export function verifyPlaybackToken(token: string, videoId: string, key: string, nowSeconds: number): TokenCheck {
  const match = /^([0-9a-z]{1,10})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, problem: "malformed" };
  const [, expiry, signature] = match as unknown as [string, string, string];
  const expected = Buffer.from(mac(videoId, expiry, key));
  const given = Buffer.from(signature);
  // Constant time, so the signature cannot be guessed byte by byte from response times.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, problem: "invalid" };
  if (parseInt(expiry, 36) <= nowSeconds) return { ok: false, problem: "expired" };
  return { ok: true };
}

function mac(videoId: string, expiry: string, key: string): string {
  return createHmac("sha256", key).update(`vodpipe-playback:${videoId}:${expiry}`).digest("base64url");
}
