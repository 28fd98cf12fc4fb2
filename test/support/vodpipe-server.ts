import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

const CLI = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../bin/vodpipe.js");

export interface VodpipeServer {
  /** Where the server said it listens, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  /** Everything it wrote, for a failing test's message. */
  output(): string;
  /** SIGTERM, as Ctrl-C would; resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
}

/**
 * Runs `vodpipe start` (what `npm start` runs: the API and every stage's worker) as its own
 * process on a free port, with only the given VODPIPE_* settings, and waits for its address.
 */
export async function startVodpipeServer(env: Record<string, string>, timeoutMs = 60_000): Promise<VodpipeServer> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VODPIPE_")));
  const child = spawn(process.execPath, [CLI, "start"], { env: { ...inherited, PORT: "0", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code, signal) => done(code ?? (signal ? 128 : null))));

  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`vodpipe start printed no address within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const look = () => {
      const match = /listening on (https?:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      // A server bound to every interface prints that address; the browser should use loopback.
      done(match[1]!.replace(/\/$/, "").replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//127.0.0.1:"));
    };
    child.stdout!.on("data", look);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`vodpipe start exited (${code}) before listening:\n${output}`));
    });
  });

  return {
    url,
    output: () => output,
    stop: () => stopProcess(child, exited),
  };
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
