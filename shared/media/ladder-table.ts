/**
 * The rendition table: one row per rung. `shortSide` is the height of a landscape rendition and
 * the width of a portrait one, so a portrait phone video gets portrait renditions of the same rungs.
 * Bitrates follow Apple's HLS authoring ladder for H.264 at 30 fps, scaled down a little for the
 * veryfast preset's efficiency; `maxrateFactor`/`bufsizeFactor` cap the peaks (capped VBR).
 */
export interface Rung {
  name: string;
  shortSide: number;
  /** Target average video bitrate in kbit/s at up to 30 fps; above 30 fps it is scaled by 1.5. */
  videoKbps: number;
  profile: "baseline" | "main" | "high";
}

export const RUNG_TABLE: readonly Rung[] = Object.freeze([
  { name: "1080p", shortSide: 1080, videoKbps: 5000, profile: "high" },
  { name: "720p", shortSide: 720, videoKbps: 2800, profile: "high" },
  { name: "480p", shortSide: 480, videoKbps: 1400, profile: "main" },
  { name: "360p", shortSide: 360, videoKbps: 800, profile: "main" },
  { name: "240p", shortSide: 240, videoKbps: 400, profile: "main" },
  { name: "144p", shortSide: 144, videoKbps: 200, profile: "main" },
]);

/** Shared x264 settings: every rung uses them, so the single-command benchmark can too. */
export const X264_RATE_CONTROL = Object.freeze({ maxrateFactor: 1.1, bufsizeFactor: 2 });

export const AUDIO_RENDITION = Object.freeze({ name: "audio", kbps: 128, sampleRate: 48_000, channels: 2 });

/** The rungs used when VODPIPE_LADDER is not set: a 4-rung ladder up to 1080p. */
export const DEFAULT_LADDER: readonly Rung[] = Object.freeze(
  RUNG_TABLE.filter((rung) => ["1080p", "720p", "480p", "360p"].includes(rung.name)),
);
