import { afterAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../shared/config.ts";
import { openPipelineEnvironment } from "../../app/environment.ts";
import { silentLogger } from "../../shared/logger.ts";

describe("the pipeline environment", () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it("makes a VODPIPE_TMP_DIR that does not exist yet, as it does the data folder", async () => {
    const root = await mkdtemp(join(tmpdir(), "vodpipe-env-"));
    roots.push(root);
    const tmpDir = join(root, "not", "yet");
    const env = await openPipelineEnvironment(loadConfig({ VODPIPE_DATA_DIR: join(root, "data"), VODPIPE_TMP_DIR: tmpDir }), silentLogger());
    try {
      expect(existsSync(tmpDir)).toBe(true);
    } finally {
      await env.close();
    }
  });
});
