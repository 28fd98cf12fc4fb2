/**
 * How long a media tool may run before it is killed: a base for start-up and small files, plus
 * time in proportion to the media it reads, weighted by how much work each kind of run does per
 * second of media. `perMediaSecond` is what a transcode (the heaviest, weight 1) may spend per
 * second of its chunk; the defaults leave about five times what a 2-core machine needs.
 */
export interface DeadlineSettings {
  baseSeconds: number;
  perMediaSecond: number;
}

/** The deadline settings as the config holds them (VODPIPE_PROCESS_TIMEOUT_*, VODPIPE_PROCESS_KILL_GRACE_SECONDS). */
export type DeadlineConfig = DeadlineSettings & { killGraceSeconds: number };

export const WORK_WEIGHTS = {
  /** Container probe: headers only. */
  probe: 0,
  /** Reading every packet without decoding: packet listings, stream copies (remux, split). */
  scan: 0.05,
  /** Decoding and encoding the audio track. */
  audio: 0.1,
  /** Decoding the video at a low rate for thumbnails and the storyboard. */
  thumbnails: 0.25,
  /** Decoding a chunk and encoding every rendition. */
  transcode: 1,
} as const;

export type WorkKind = keyof typeof WORK_WEIGHTS;

/** Seconds a run of `kind` over `mediaSeconds` of media may take (whole seconds, at least the base). */
export function processDeadlineSeconds(settings: DeadlineSettings, kind: WorkKind, mediaSeconds: number): number {
  const media = Number.isFinite(mediaSeconds) && mediaSeconds > 0 ? mediaSeconds : 0;
  return Math.ceil(settings.baseSeconds + settings.perMediaSecond * WORK_WEIGHTS[kind] * media);
}

/** runProcess's deadline options for a run of `kind` over `mediaSeconds` of media. */
export function deadlineOptions(
  settings: DeadlineConfig,
  kind: WorkKind,
  mediaSeconds: number,
): { deadlineSeconds: number; killGraceSeconds: number } {
  return { deadlineSeconds: processDeadlineSeconds(settings, kind, mediaSeconds), killGraceSeconds: settings.killGraceSeconds };
}
