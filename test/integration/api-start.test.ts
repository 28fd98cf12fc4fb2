import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.cleanup();
  sandbox = undefined;
});

describe("vodpipe start", () => {
  it("serves the API and the player on PORT, says it runs open, and stops cleanly on Ctrl-C", async () => {
    sandbox = await createSandbox({ PORT: "0", VODPIPE_LOG_LEVEL: "info" });
    const child = spawn(process.execPath, ["bin/vodpipe.js", "start"], { cwd: ROOT, env: { ...process.env, ...sandbox.env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/listening on (http:\/\/\S+)/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      expect(url, output).toBeDefined();
      expect(output).toContain("no VODPIPE_API_KEY");
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/`)).headers.get("content-type")).toMatch(/^text\/html/);
      expect(((await (await fetch(`${url}/v1/videos`)).json()) as { data: unknown[] }).data).toEqual([]);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(output).toMatch(/"msg":"stopping"/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
