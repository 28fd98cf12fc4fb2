import { randomBytes } from "node:crypto";
import { startFauxqs } from "fauxqs";

/** A real S3- and SQS-protocol server (fauxqs) on 127.0.0.1, started in-process by a test. */
export interface FauxAws {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export async function startFauxAws(): Promise<FauxAws> {
  const server = await startFauxqs({ port: 0, host: "localhost", logger: false });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    stop: () => server.stop(),
  };
}

/** A name unique to this test run, valid as an S3 bucket or SQS queue name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** The VODPIPE_* variables that point vodpipe at a fauxqs server: S3 storage in `bucket`, SQS queues named `<prefix>…`. */
export function fauxAwsEnv(faux: FauxAws, bucket: string, queuePrefix: string): Record<string, string> {
  return {
    VODPIPE_STORAGE: "s3",
    VODPIPE_S3_BUCKET: bucket,
    VODPIPE_S3_ENDPOINT: faux.endpoint,
    VODPIPE_QUEUE: "sqs",
    VODPIPE_SQS_ENDPOINT: faux.endpoint,
    VODPIPE_AWS_REGION: faux.region,
    VODPIPE_QUEUE_PREFIX: queuePrefix,
  };
}
