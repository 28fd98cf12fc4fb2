import { PassThrough } from "node:stream";
import { main } from "../../app/cli/main.ts";

/** Runs the CLI in this process with `env` as its environment; returns its exit status and what it printed. */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => (out += chunk));
  stderr.on("data", (chunk) => (err += chunk));
  const code = await main(args, { stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}
