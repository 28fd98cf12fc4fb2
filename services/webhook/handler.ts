import type { WebhookEventType } from "../../shared/config.ts";
import { RetryableError } from "../../shared/errors.ts";
import { readJob, type JobRecord } from "../../shared/job.ts";
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
    reason: string | null;
    duration: number | null;
    renditions: string[];
    playback: { hls: string | null };
  };
}

/**
 * webhook: delivers one video event to the configured URL, signed (`Vodpipe-Signature: t=…,v1=…`,
 * HMAC-SHA256 of `t.body`). A failure (network, timeout, any non-2xx answer) is retried by the
 * queue with backoff and ends in the webhook dead-letter queue. A delivered event is recorded, so
 * a duplicate message is not delivered twice.
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
    if (await deps.store.head(deliveredKey)) {
      logger.info("already delivered; duplicate dropped");
      return;
    }
    const job = await readJob(deps.store, message.videoId);
    if (!job || job.status === "deleted") {
      logger.info("the video was deleted; event dropped");
      return;
    }
    const body = JSON.stringify(payloadOf(message, job));
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
    await deps.store.put(deliveredKey, JSON.stringify({ event: message.event, deliveredAt: now().toISOString(), status }), { contentType: "application/json" });
    logger.info({ status }, "webhook delivered");
  };
}

function payloadOf(message: VideoEventMessage, job: JobRecord): WebhookPayload {
  const ready = job.status === "ready";
  return {
    // Stable per video and event: receivers can drop a repeat by this id.
    id: `${message.videoId}.${message.event}`,
    type: message.event,
    createdAt: message.occurredAt,
    data: {
      id: job.videoId,
      status: job.status,
      reason: job.status === "failed" ? (job.reason ?? null) : null,
      duration: job.source?.durationSeconds ?? null,
      renditions: job.plan?.renditions.map((rendition) => rendition.name) ?? [],
      playback: { hls: ready ? `/v1/videos/${job.videoId}/hls/master.m3u8` : null },
    },
  };
}
