import type { JobRecord } from "../job.ts";
import type { Send } from "../pipeline/senders.ts";

/**
 * Queues a webhook event for the webhook stage to deliver (with the queue's retries, backoff and
 * dead-letter queue, so a restart loses none). Sent whether or not a URL is configured: the stage
 * that delivers reads the URL, so the stages that announce need not know it.
 */
export async function announceVideoEvent(
  send: Send<"webhook">,
  job: Pick<JobRecord, "videoId" | "status">,
  occurredAt: string,
): Promise<void> {
  if (job.status !== "ready" && job.status !== "failed") return;
  await send({ type: "video-event", version: 1, videoId: job.videoId, event: job.status === "ready" ? "video.ready" : "video.failed", occurredAt });
}
