import type { Config } from "../../shared/config.ts";
import { readJob, writeJob } from "../../shared/job.ts";
import type { Logger } from "../../shared/logger.ts";
import { STAGES, decodeS3Key, isVideoId, serialize, type Stage } from "../../shared/messages.ts";
import type { ObjectStore, Queue } from "../../shared/ports.ts";
import { openQueueSet, queueNames } from "../../shared/queue/queue-set.ts";
import { redriveDeadLetters, reportQueues, type StageQueueReport } from "../../shared/queue/queue-operations.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import { videoIdOfSourceKey } from "../../shared/keys.ts";

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `vodpipe queues [--json]`: each stage's waiting, in-flight, delayed and dead-lettered messages. */
export async function runQueuesCommand(args: string[], config: Readonly<Config>, io: Io): Promise<number> {
  const json = args.includes("--json");
  const unknown = args.filter((arg) => arg !== "--json");
  if (unknown.length > 0) {
    io.stderr.write(`vodpipe queues: unexpected argument ${unknown[0]}\nusage: vodpipe queues [--json]\n`);
    return 64;
  }
  const queueSet = await openQueueSet(config);
  try {
    const rows = await reportQueues(queueSet.queues, queueSet.deadLetters);
    const where = config.queue.kind === "embedded" ? config.queue.file : (config.queue.endpoint ?? "aws");
    if (json) {
      const stages = rows.map((row) => ({ ...row, ...queueNames(config.queue.prefix, row.stage) }));
      io.stdout.write(`${JSON.stringify({ kind: config.queue.kind, location: where, stages }, null, 2)}\n`);
    } else {
      io.stdout.write(`${config.queue.kind === "embedded" ? "embedded queues in" : "SQS queues at"} ${where}\n`);
      io.stdout.write(formatQueueTable(rows, config.queue.prefix));
    }
    return 0;
  } finally {
    await queueSet.close();
  }
}

export function formatQueueTable(rows: readonly StageQueueReport[], prefix: string): string {
  const header = ["stage", "queue", "waiting", "in flight", "delayed", "dead letters"];
  const lines = [
    header,
    ...rows.map((row) => [row.stage, queueNames(prefix, row.stage).queue, row.waiting, row.inFlight, row.delayed, row.deadLetters].map(String)),
  ];
  const widths = header.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  // Names left-aligned, counts right-aligned, like `ls -l`.
  return lines
    .map((line) => line.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ").trimEnd())
    .join("\n")
    .concat("\n");
}

/**
 * `vodpipe redrive <stage>`: moves the stage's dead-lettered messages back to its queue. A message
 * whose video ended `failed` reopens that video (status back to processing) and asks ingest to
 * resume it: while it was failed the other stages dropped its messages, so the redriven message
 * alone could never finish it. Parts already done are not redone.
 */
export async function runRedriveCommand(args: string[], config: Readonly<Config>, io: Io, logger: Logger): Promise<number> {
  const [stage, ...rest] = args;
  if (!stage || rest.length > 0 || !(STAGES as readonly string[]).includes(stage)) {
    io.stderr.write(`usage: vodpipe redrive <stage>   (${STAGES.join(", ")})\n`);
    return 64;
  }
  const queueSet = await openQueueSet(config);
  const store = createObjectStore(config);
  try {
    const reopened = new Set<string>();
    const moved = await redriveDeadLetters(queueSet.deadLetters[stage as Stage], queueSet.queues[stage as Stage], {
      beforeSend: async (body) => {
        for (const videoId of videoIdsOf(body)) {
          if (reopened.has(videoId)) continue;
          if (await reopenFailedJob(store, queueSet.queues.ingest, videoId, stage !== "ingest")) {
            reopened.add(videoId);
            logger.info({ videoId }, "reopened a failed video");
          }
        }
      },
    });
    const names = queueNames(config.queue.prefix, stage as Stage);
    io.stdout.write(
      `moved ${moved} message${moved === 1 ? "" : "s"} from ${names.deadLetter} to ${names.queue}` +
        (reopened.size > 0 ? `; reopened ${reopened.size} failed video${reopened.size === 1 ? "" : "s"}: ${[...reopened].join(", ")}` : "") +
        "\n",
    );
    return 0;
  } finally {
    await queueSet.close();
  }
}

/** The videos a message is about: its `videoId`, or those of the objects an S3 notification names. */
export function videoIdsOf(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (!parsed || typeof parsed !== "object") return [];
  const { videoId, Records } = parsed as { videoId?: unknown; Records?: unknown };
  if (isVideoId(videoId)) return [videoId];
  if (!Array.isArray(Records)) return [];
  return Records.flatMap((record: { s3?: { object?: { key?: unknown } } }) => {
    const key = record?.s3?.object?.key;
    if (typeof key !== "string") return [];
    try {
      const videoId = videoIdOfSourceKey(decodeS3Key(key));
      return videoId ? [videoId] : [];
    } catch {
      return []; // a malformed key names no video
    }
  });
}

/**
 * A `failed` video goes back to `processing` (its reason removed), and with `resume` ingest is
 * asked to carry it on from where it stopped. Returns whether it was reopened.
 */
async function reopenFailedJob(store: ObjectStore, ingest: Queue, videoId: string, resume: boolean): Promise<boolean> {
  const job = await readJob(store, videoId);
  if (job?.status !== "failed") return false;
  const { reason: _reason, ...rest } = job;
  await writeJob(store, { ...rest, status: "processing", updatedAt: new Date().toISOString() });
  if (resume && job.sourceKey) {
    await ingest.send(
      serialize({ type: "source-uploaded", version: 1, videoId, sourceKey: job.sourceKey, ...(job.originalName ? { originalName: job.originalName } : {}) }),
    );
  }
  return true;
}
