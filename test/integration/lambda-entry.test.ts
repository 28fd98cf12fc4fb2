import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStageLambda } from "../../app/entry.ts";
import type { SqsEvent } from "../../shared/consumer/lambda.ts";

const saved = { ...process.env };

function testEvent(): SqsEvent {
  return {
    Records: [
      {
        messageId: "m-1",
        receiptHandle: "r-1",
        body: JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "any" }),
        attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()) },
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:vodpipe-ingest",
      },
    ],
  };
}

describe("a Lambda whose start-up failed", () => {
  let root: string | undefined;
  afterEach(async () => {
    process.env = { ...saved };
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("starts again on the next invocation instead of failing for the rest of its life", async () => {
    root = await mkdtemp(join(tmpdir(), "vodpipe-lambda-"));
    process.env = { ...saved, VODPIPE_DATA_DIR: root, VODPIPE_LOG_LEVEL: "silent", VODPIPE_SEGMENT_SECONDS: "not a number" };
    const handler = createStageLambda("ingest");
    await expect(handler(testEvent())).rejects.toThrow(/VODPIPE_SEGMENT_SECONDS/);

    // The operator fixes the setting; the same warm execution environment picks it up.
    process.env.VODPIPE_SEGMENT_SECONDS = "4";
    await expect(handler(testEvent())).resolves.toEqual({ batchItemFailures: [] });
  });
});
