import { afterEach, describe, expect, it, vi } from "vitest";
import { writeJob } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import type { ObjectStore } from "../../shared/ports.ts";
import { startProgressReporter } from "../../shared/progress/progress-records.ts";
import { createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

let root: string | undefined;
afterEach(async () => {
  vi.useRealTimers();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function storeWithJob(): Promise<{ store: ObjectStore; puts: string[] }> {
  root = await mkdtemp(join(tmpdir(), "vodpipe-reporter-"));
  const store = createFsObjectStore({ root });
  await writeJob(store, { videoId: "v1", status: "processing", sourceKey: "sources/v1/source.mp4", createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z" });
  const puts: string[] = [];
  const put = store.put.bind(store);
  store.put = async (key, body, options) => {
    puts.push(key);
    return put(key, body, options);
  };
  return { store, puts };
}

/** One interval passes; its tick's store I/O (real files) is then awaited. */
async function tick(reporter: ReturnType<typeof startProgressReporter>): Promise<void> {
  await vi.advanceTimersByTimeAsync(2000);
  await reporter.settled();
}

describe("startProgressReporter", () => {
  it("writes the latest fraction once per interval, never per update, and only when it changed", async () => {
    const { store, puts } = await storeWithJob();
    vi.useFakeTimers();
    const reporter = startProgressReporter(store, "v1", "chunk-000", { intervalMs: 2000, now: () => new Date("2026-01-01T00:00:05Z") });
    for (let frame = 1; frame <= 100; frame += 1) reporter.update(frame / 400);
    expect(puts).toEqual([]);
    await tick(reporter);
    expect(puts).toEqual([keys.progress("v1", "chunk-000")]);
    expect(JSON.parse((await store.getBuffer(keys.progress("v1", "chunk-000"))).toString())).toEqual({ part: "chunk-000", fraction: 0.25, updatedAt: "2026-01-01T00:00:05.000Z" });
    await tick(reporter);
    expect(puts).toHaveLength(1);
    reporter.update(0.1);
    await tick(reporter);
    expect(puts).toHaveLength(1);
    reporter.update(0.5);
    await tick(reporter);
    expect(puts).toHaveLength(2);
    await reporter.stop();
    expect(reporter.signal.aborted).toBe(false);
  });

  it("aborts its signal at the next tick once the video is deleted", async () => {
    const { store } = await storeWithJob();
    vi.useFakeTimers();
    const reporter = startProgressReporter(store, "v1", "audio", { intervalMs: 2000 });
    await tick(reporter);
    expect(reporter.signal.aborted).toBe(false);
    await writeJob(store, { videoId: "v1", status: "deleted", sourceKey: "", createdAt: "x", updatedAt: "x" });
    await tick(reporter);
    expect(reporter.signal.aborted).toBe(true);
    expect(String(reporter.signal.reason)).toMatch(/deleted/);
    await reporter.stop();
  });
});
