import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mediaFile } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import {
  faultsInjected,
  printFigures,
  processesMentioning,
  publishedPlaylists,
  writeFaultyTool,
  type FaultPlan,
  type Outcome,
} from "./fault-support.ts";

const CLIP = "androidx_sample.avi"; // 4 s with sound: two chunks, audio, thumbnails
/** Short deadlines, so a hung ffmpeg is killed within seconds: 3 s + 1 s per second of media × weight. */
const DEADLINES = { VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS: "3", VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND: "1", VODPIPE_PROCESS_KILL_GRACE_SECONDS: "1" };

const outcomes: Outcome[] = [];
let clean: Record<string, string>;

beforeAll(async () => {
  const sandbox = await createSandbox(DEADLINES);
  try {
    const result = await runPipeline(sandbox, mediaFile(CLIP));
    expect(result.job.status).toBe("ready");
    clean = await publishedPlaylists(createObjectStore(sandbox.config), result.videoId);
    outcomes.push({ suite: "ffmpeg", scenario: "clean run", runs: 1, faults: 0, outcome: "ready" });
  } finally {
    await sandbox.cleanup();
  }
});

afterAll(() => printFigures("misbehaving ffmpeg", outcomes));

describe("an ffmpeg that misbehaves", () => {
  let sandbox: Sandbox | undefined;
  afterAll(async () => {
    await sandbox?.cleanup();
  });

  let tools: string;
  beforeAll(async () => {
    tools = await mkdtemp(join(tmpdir(), "vodpipe-faulty-tools-"));
  });
  afterAll(async () => {
    await rm(tools, { recursive: true, force: true });
  });

  /** A sandbox whose ffmpeg (or ffprobe, for probes) is a wrapper that misbehaves as planned. */
  async function runWith(plan: FaultPlan, extraEnv: Record<string, string> = {}) {
    await sandbox?.cleanup();
    const tool = plan.kind === "probe" ? "ffprobe" : "ffmpeg";
    const wrapper = await writeFaultyTool(await mkdtemp(join(tools, "case-")), tool, plan);
    const variable = tool === "ffprobe" ? "VODPIPE_FFPROBE_PATH" : "VODPIPE_FFMPEG_PATH";
    sandbox = await createSandbox({ ...DEADLINES, ...extraEnv, [variable]: wrapper.path });
    return { sandbox, wrapper };
  }

  it.each<[string, FaultPlan]>([
    ["a transcode that hangs is killed at its deadline and done again", { kind: "transcode", action: "hang", times: 1 }],
    ["a transcode that crashes is done again", { kind: "transcode", action: "crash", times: 1 }],
    ["a transcode that exits 0 having written nothing is done again", { kind: "transcode", action: "empty", times: 1 }],
    ["an audio encode that exits 0 having written nothing is done again", { kind: "audio", action: "empty", times: 1 }],
    ["an audio encode whose last segment is left empty (a full disk) is done again", { kind: "audio", action: "truncated", times: 1 }],
    ["a transcode whose last segment is left empty is done again", { kind: "transcode", action: "truncated", times: 1 }],
    ["a thumbnail extraction that exits 0 having written nothing is done again", { kind: "thumbnails", action: "empty", times: 1 }],
    ["a split that crashes is done again", { kind: "split", action: "crash", times: 1 }],
    ["a probe that hangs is killed at its deadline and done again", { kind: "probe", action: "hang", times: 1 }],
  ])("%s: the video ends ready with the clean run's playlists", async (_name, plan) => {
    const { sandbox: box, wrapper } = await runWith(plan);
    const result = await runPipeline(box, mediaFile(CLIP));
    const injected = await faultsInjected(wrapper.state);
    outcomes.push({ suite: "ffmpeg", scenario: `${plan.kind} ${plan.action}`, runs: 1, faults: injected, outcome: result.job.status as Outcome["outcome"] });

    expect(injected).toBe(1);
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");
    expect(await publishedPlaylists(createObjectStore(box.config), result.videoId)).toEqual(clean);
    expect(await box.leftoverTemp()).toEqual([]);
    expect(await processesMentioning(box.root)).toEqual([]);
  });

  it("a transcode that hangs every time ends the video failed with a reason, once its receives are used up", async () => {
    const plan: FaultPlan = { kind: "transcode", action: "hang", times: 1000 };
    const { sandbox: box, wrapper } = await runWith(plan, { VODPIPE_MAX_RECEIVE_COUNT: "2" });
    const result = await runPipeline(box, mediaFile(CLIP));
    const injected = await faultsInjected(wrapper.state);
    outcomes.push({ suite: "ffmpeg", scenario: "transcode hangs every time", runs: 1, faults: injected, outcome: result.job.status as Outcome["outcome"] });

    expect(result.job.status).toBe("failed");
    expect(result.job.failedBecause).toBe("processing");
    expect(result.job.reason).toMatch(/^gave up after all 2 attempts failed: processing took far longer than it should and was stopped/);
    expect(injected).toBeGreaterThanOrEqual(2);
    expect(await box.leftoverTemp()).toEqual([]);
    expect(await processesMentioning(box.root)).toEqual([]);
  });
});
