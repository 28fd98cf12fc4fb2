import type { WebhookEventType } from "../../shared/config.ts";
import { RetryableError } from "../../shared/errors.ts";
import { readVideoProgress } from "../../shared/progress/progress-records.ts";
import { readJob, readJsonObjectIfExists, type JobRecord } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { parseMessageOf, type VideoEventMessage } from "../../shared/messages.ts";
import type { ObjectStore } from "../../shared/ports.ts";
import { systemClock, type Clock } from "../../shared/pipeline/clock.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { SIGNATURE_HEADER, signWebhook } from "../../shared/webhook/signature.ts";

/** A receiver that has not answered in this long counts as down: the delivery is retried later. */
const DELIVERY_TIMEOUT_MS = 10_000;

export interface WebhookDeps {
  store: ObjectStore;
  /** VODPIPE_WEBHOOK_URL, _SECRET and _EVENTS; absent: events are dropped (nobody is listening). */
  webhook?: { url: string; secret: string; events: readonly WebhookEventType[] };
  fetch?: typeof fetch;
  now?: Clock;
}

/** What a receiver gets: the event, and the video as it is when delivered. */
export interface WebhookPayload {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: {
    id: string;
    status: string;
    /** 0–100: the video's progress when delivered (100 once ready; null for video.failed). */
    progress: number | null;
    /** video.progress: the estimated seconds left, once there is enough to estimate from. */
    etaSeconds: number | null;
    reason: string | null;
    duration: number | null;
    renditions: string[];
    playback: { hls: string | null };
  };
}

/** video.progress is delivered at most once per this many percent of a video's progress. */
export const PROGRESS_STEP_PERCENT = 10;

/**
 * webhook: delivers one video event to the configured URL, signed (`Vodpipe-Signature: t=…,v1=…`,
 * HMAC-SHA256 of `t.body`). A failure (network, timeout, any non-2xx answer) is retried by the
 * queue with backoff and ends in the webhook dead-letter queue. A delivered event is recorded, so
 * a duplicate message is not delivered twice; video.progress records the last step it delivered,
 * so a video sends at most one per PROGRESS_STEP_PERCENT however many parts finish.
 */
export function createWebhookHandler(deps: WebhookDeps): MessageHandler {
  const now = deps.now ?? systemClock;
  const send = deps.fetch ?? fetch;
  return async (received, context) => {
    const message = parseMessageOf(received.body, "video-event");
    const logger = context.logger.child({ videoId: message.videoId, event: message.event });
    const hook = deps.webhook;
    if (!hook || !hook.events.includes(message.event)) {
      logger.debug("no webhook wants this event; dropped");
      return;
    }
    const deliveredKey = keys.webhookDelivered(message.videoId, message.event);
    const progressEvent = message.event === "video.progress";
    if (!progressEvent && (await deps.store.head(deliveredKey))) {
      logger.info("already delivered; duplicate dropped");
      return;
    }
    const job = await readJob(deps.store, message.videoId);
    if (!job || job.status === "deleted") {
      logger.info("the video was deleted; event dropped");
      return;
    }
    let progress: ProgressNow | undefined;
    if (progressEvent) {
      // Progress as it is now (a retry reports the latest), and only past the last step delivered.
      if (job.status !== "processing") return logger.debug("the video is no longer processing; progress dropped");
      const measured = await readVideoProgress(deps.store, job, "processing", now().getTime());
      progress = { percent: measured.percent, etaSeconds: measured.etaSeconds, step: Math.floor(measured.percent / PROGRESS_STEP_PERCENT) };
      if (progress.step <= (await lastProgressStep(deps.store, message.videoId))) return logger.debug({ percent: progress.percent }, "progress throttled");
    }
    const body = JSON.stringify(payloadOf(message, job, progress));
    const signature = signWebhook(hook.secret, Math.floor(now().getTime() / 1000), body);
    let status: number;
    try {
      const response = await send(hook.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "vodpipe-webhook/1", [SIGNATURE_HEADER]: signature },
        body,
        redirect: "manual",
        signal: AbortSignal.any([context.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (error) {
      throw new RetryableError(`webhook ${message.event} to ${hook.url} failed: ${(error as Error).message}`, { videoId: message.videoId, cause: error });
    }
    if (status < 200 || status >= 300) {
      throw new RetryableError(`webhook ${message.event} to ${hook.url} answered ${status}; retrying`, { videoId: message.videoId });
    }
    const record = { event: message.event, deliveredAt: now().toISOString(), status, ...(progress ? { step: progress.step, percent: progress.percent } : {}) };
    await deps.store.put(deliveredKey, JSON.stringify(record), { contentType: "application/json" });
    logger.info({ status }, "webhook delivered");
  };
}

interface ProgressNow {
  percent: number;
  etaSeconds: number | null;
  step: number;
}

/** The step of the last video.progress delivered for a video; -1 before the first. */
async function lastProgressStep(store: ObjectStore, videoId: string): Promise<number> {
  const record = await readJsonObjectIfExists<{ step?: unknown }>(store, keys.webhookDelivered(videoId, "video.progress"));
  return typeof record?.step === "number" ? record.step : -1;
}

function payloadOf(message: VideoEventMessage, job: JobRecord, progress: ProgressNow | undefined): WebhookPayload {
  const ready = job.status === "ready";
  return {
    // Stable per video and event (and progress step): receivers can drop a repeat by this id.
    id: progress ? `${message.videoId}.${message.event}.${progress.step * PROGRESS_STEP_PERCENT}` : `${message.videoId}.${message.event}`,
    type: message.event,
    createdAt: message.occurredAt,
    data: {
      id: job.videoId,
      status: job.status,
      progress: ready ? 100 : (progress?.percent ?? null),
      etaSeconds: progress?.etaSeconds ?? null,
      reason: job.status === "failed" ? (job.reason ?? null) : null,
      duration: job.source?.durationSeconds ?? null,
      renditions: job.plan?.renditions.map((rendition) => rendition.name) ?? [],
      playback: { hls: ready ? `/v1/videos/${job.videoId}/hls/master.m3u8` : null },
    },
  };
}
