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
