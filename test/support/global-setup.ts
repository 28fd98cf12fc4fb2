import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/** One folder per test run for the media the tests generate (test/support/media.ts), removed at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "vodpipe-test-media-"));
  project.provide("generatedMediaDir", dir);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
