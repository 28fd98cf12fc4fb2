import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../shared/config.ts";
import { silentLogger } from "../../shared/logger.ts";
import { processFile, type ProcessOptions, type ProcessResult } from "../../app/cli/process-command.ts";

/** Settings that keep a pipeline test to seconds: 2 s segments, 4 s chunks, two small rungs. */
export const FAST_TEST_ENV: Record<string, string> = {
  VODPIPE_SEGMENT_SECONDS: "2",
  VODPIPE_CHUNK_SECONDS: "4",
  VODPIPE_X264_PRESET: "superfast",
  VODPIPE_LADDER: "360p,240p",
  VODPIPE_WAIT_SECONDS: "1",
  VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "60",
  VODPIPE_HEARTBEAT_SECONDS: "10",
  VODPIPE_LOG_LEVEL: "silent",
};

export interface Sandbox {
  root: string;
  /** VODPIPE_* variables pointing the data and temp folders into the sandbox. */
  env: Record<string, string>;
  config: Readonly<Config>;
  tmpDir: string;
  /** Entries left in the pipeline's temp folder. */
  leftoverTemp(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function createSandbox(extraEnv: Record<string, string> = {}): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "vodpipe-test-"));
  const tmpDir = join(root, "tmp");
  await mkdir(tmpDir);
  const env = { ...FAST_TEST_ENV, VODPIPE_DATA_DIR: join(root, "data"), VODPIPE_TMP_DIR: tmpDir, ...extraEnv };
  return {
    root,
    env,
    config: loadConfig(env),
    tmpDir,
    leftoverTemp: () => readdir(tmpDir),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * Runs one file through the whole pipeline in this process, writing the HLS tree under the sandbox.
 * The job is read again only when a worker settles a message: the ten-minute safety-net poll
 * would make any job whose end no worker announces time its test out.
 */
export async function runPipeline(sandbox: Sandbox, file: string, options: Partial<ProcessOptions> = {}): Promise<ProcessResult> {
  return processFile(sandbox.config, silentLogger(), { file, outDir: join(sandbox.root, "out", `${Date.now()}`), pollMilliseconds: 600_000, ...options });
}
