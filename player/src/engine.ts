/** Which engine plays HLS in this browser. Pure. */

export type Engine = "hls.js" | "native" | "none";

export interface EngineFacts {
  /** Hls.isSupported(): Media Source Extensions with H.264/AAC. */
  hlsJsSupported: boolean;
  /** video.canPlayType('application/vnd.apple.mpegurl') is not "". */
  nativeHls: boolean;
  /** Safari, or any browser on iOS/iPadOS (all WebKit). */
  appleWebKit: boolean;
}

/**
 * Safari plays HLS itself (and on the iPhone before iOS 17.1 there is no MSE at all), so there the
 * browser's player is used. Elsewhere hls.js, even where canPlayType says "maybe" (Chrome on
 * Android does): hls.js gives the quality menu and a predictable ABR.
 */
export function chooseEngine(facts: EngineFacts): Engine {
  if (facts.nativeHls && (facts.appleWebKit || !facts.hlsJsSupported)) return "native";
  if (facts.hlsJsSupported) return "hls.js";
  return facts.nativeHls ? "native" : "none";
}

/** Safari's and iOS's user agents (Chrome and Firefox on iOS are WebKit too); not Chrome, Edge or Android. */
export function isAppleWebKit(userAgent: string, maxTouchPoints = 0, platform = ""): boolean {
  if (/iPad|iPhone|iPod/.test(userAgent)) return true;
  // iPadOS asks for desktop pages with a Mac user agent; only the touch points give it away.
  if (platform === "MacIntel" && maxTouchPoints > 1) return true;
  return /Safari\//.test(userAgent) && !/Chrome\/|Chromium\/|CriOS\/|Edg\/|Android/.test(userAgent);
}
