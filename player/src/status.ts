/** How a video's state reads on the page: pure, shared by the upload cards, the list and the watch page. */
import type { Video } from "./api.ts";
import { formatRemaining } from "./format.ts";

const STAGES: Record<string, string> = {
  ingest: "checking the file",
  split: "splitting",
  transcode: "encoding",
  audio: "encoding the sound",
  thumbnails: "making thumbnails",
  publish: "publishing",
};

export function stageLabel(stage: string | null): string | null {
  if (!stage) return null;
  return STAGES[stage] ?? stage;
}

/** Whole percent for display: never 100 before the video is ready, so "100%" means done. */
export function shownPercent(video: Pick<Video, "status" | "progress">): number {
  if (video.status === "ready") return 100;
  const percent = Number.isFinite(video.progress) ? Math.floor(video.progress) : 0;
  return Math.max(0, Math.min(99, percent));
}

/** "42% · encoding · about 12 s left": where processing stands. Pure. */
export function progressLine(video: Pick<Video, "status" | "progress" | "stage" | "etaSeconds">): string {
  const parts = [`${shownPercent(video)}%`];
  const stage = stageLabel(video.stage);
  if (stage) parts.push(stage);
  if (video.etaSeconds !== null && Number.isFinite(video.etaSeconds) && video.etaSeconds > 0) {
    parts.push(`about ${formatRemaining(video.etaSeconds)} left`);
  }
  return parts.join(" · ");
}

/** "Processing — 42% · encoding · about 12 s left", "Queued", "Ready", "Failed". */
export function statusLine(video: Pick<Video, "status" | "progress" | "stage" | "etaSeconds">): string {
  switch (video.status) {
    case "uploading":
      return "Uploading";
    case "queued":
      return "Queued — waiting for a worker";
    case "processing":
      return `Processing — ${progressLine(video)}`;
    case "ready":
      return "Ready";
    case "failed":
      return "Failed";
  }
}

export const STATUS_WORDS: Record<Video["status"], string> = {
  uploading: "Uploading",
  queued: "Queued",
  processing: "Processing",
  ready: "Ready",
  failed: "Failed",
};

/** A reason as a sentence on the page: capital first letter, closing full stop. Pure. */
export function asSentence(text: string | null, fallback = "The video could not be processed."): string {
  const trimmed = (text ?? "").trim();
  if (!trimmed) return fallback;
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}
