import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { validate } from "dockerfile-utils";
import { bundleLambdaHandlers } from "../../infra/lambda-bundle.ts";
import { STAGES } from "../../shared/messages.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(join(root, "infra/Dockerfile"), "utf8");
const ciScript = readFileSync(join(root, ".ci/run"), "utf8");
const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ keyword: string; args: string }> {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(" ") };
    });
}

/** Global ARG defaults (before the first FROM), which FROM lines may use. */
function globalArgs(list: ReturnType<typeof instructions>): Record<string, string> {
  const args: Record<string, string> = {};
  for (const { keyword, args: text } of list) {
    if (keyword === "FROM") break;
    const match = /^(\w+)=(\S+)$/.exec(text);
    if (keyword === "ARG" && match) args[match[1]!] = match[2]!;
  }
  return args;
}

const list = instructions(dockerfile);
const stages = list.flatMap((entry, index) => (entry.keyword === "FROM" ? [index] : []));
const finalStage = list.slice(stages.at(-1));

// There is no Docker engine here: the image's build steps are checked as far as they can be
// without one: the Dockerfile's syntax and rules, the files it uses, the install commands CI
// runs on this same Debian, and the Lambda bundle it builds, loaded and invoked.
describe("infra/Dockerfile", () => {
  it("passes the Dockerfile linter (dockerfile-utils) with no problem", () => {
    expect(validate(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("is multi-stage, every base image pinned to a version (no latest), on a maintained Node", () => {
    const args = globalArgs(list);
    const bases = stages.map((index) =>
      list[index]!.args.split(/\s+/)[0]!.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? `<${name} unset>`),
    );
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) {
      expect(base).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
      expect(base).not.toContain("latest");
      // Node 20 is end-of-life upstream; the image runs an LTS line that is maintained.
      expect(Number(base.slice("node:".length).split(".")[0])).toBeGreaterThanOrEqual(22);
    }
  });

  it("uses the Debian release CI tests on, so the image's ffmpeg is the one the suite ran", () => {
    const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
    const codename = /^VERSION_CODENAME=(\w+)$/m.exec(osRelease)?.[1];
    const debian = /^ID=debian$/m.test(osRelease);
    if (debian && codename) expect(globalArgs(list).DEBIAN_RELEASE).toBe(codename);
    const finalRuns = finalStage.filter((entry) => entry.keyword === "RUN").map((entry) => entry.args);
    expect(finalRuns.some((args) => /apt-get install -y --no-install-recommends ffmpeg\b/.test(args))).toBe(true);
    // .ci/run installs the same Debian package.
    expect(ciScript).toMatch(/need\+=\(ffmpeg\)/);
    expect(ciScript).toMatch(/apt-get install -y -qq --no-install-recommends/);
  });

  it("installs with the same npm ci as CI, then only the runtime dependencies", () => {
    const runs = list.filter((entry) => entry.keyword === "RUN").map((entry) => entry.args);
    expect(ciScript).toMatch(/^npm ci --no-audit --no-fund$/m);
    expect(runs).toContain("npm ci --no-audit --no-fund");
    expect(runs.some((args) => args.startsWith("npm ci --omit=dev --no-audit --no-fund"))).toBe(true);
  });

  it("runs as a non-root user with a health check, the CLI as entry point and `start` by default", () => {
    const users = finalStage.filter((entry) => entry.keyword === "USER").map((entry) => entry.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const healthcheck = finalStage.find((entry) => entry.keyword === "HEALTHCHECK");
    expect(healthcheck?.args).toMatch(/CMD \["node", "infra\/healthcheck\.mjs"\]/);
    expect(finalStage.find((entry) => entry.keyword === "ENTRYPOINT")?.args).toBe('["node", "/app/bin/vodpipe.js"]');
    expect(finalStage.find((entry) => entry.keyword === "CMD")?.args).toBe('["start"]');
  });

  it("names only files that exist, and keeps the checkout's node_modules and the CDK output out", () => {
    const named = [...new Set(dockerfile.match(/\b(?:bin|infra)\/[\w.-]+\.(?:m?js|ts)\b/g) ?? [])];
    expect(named).toEqual(expect.arrayContaining(["infra/lambda-bundle.ts", "infra/healthcheck.mjs", "bin/vodpipe.js"]));
    for (const file of named) expect(existsSync(join(root, file)), file).toBe(true);
    const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
    for (const pattern of ["**/node_modules", ".git", "infra/aws", "**/cdk.out", "test"]) expect(ignored).toContain(pattern);
  });

  it("has every package the runtime imports in `dependencies` (the image installs no others)", async () => {
    // The CLI (worker, API, start), every stage's worker and Lambda entry: esbuild follows their
    // imports; every bare import it leaves external must be a runtime dependency.
    const entryPoints = [
      join(root, "bin/vodpipe.js"),
      ...STAGES.flatMap((stage) => [join(root, "services", stage, "worker.ts"), join(root, "services", stage, "lambda.ts")]),
    ];
    const result = await build({ entryPoints, bundle: true, write: false, outdir: "out", packages: "external", platform: "node", format: "esm", metafile: true, logLevel: "silent" });
    const builtins = new Set(builtinModules);
    const packages = new Set<string>();
    for (const input of Object.values(result.metafile.inputs)) {
      for (const imported of input.imports) {
        if (!imported.external || imported.path.startsWith("node:") || builtins.has(imported.path)) continue;
        const parts = imported.path.split("/");
        packages.add(imported.path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
      }
    }
    expect(packages).toContain("tsx");
    expect([...packages].filter((name) => !(name in packageJson.dependencies))).toEqual([]);
  });

  it("builds one Lambda bundle per stage that loads and answers an SQS batch", async () => {
    // Inside the checkout, so the bundle resolves packages from node_modules as it does in /app.
    await mkdir(join(root, ".tmp"), { recursive: true });
    const dir = await mkdtemp(join(root, ".tmp", "lambda-bundle-"));
    try {
      const files = await bundleLambdaHandlers(join(dir, "dist"));
      expect(files.map((file) => file.slice(dir.length))).toEqual(STAGES.map((stage) => `/dist/${stage}.mjs`));
      const script = `const { handler } = await import(${JSON.stringify(files[STAGES.indexOf("transcode")])});
        process.stdout.write(JSON.stringify(await handler({ Records: [] }, { getRemainingTimeInMillis: () => 60000 })));`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
        cwd: dir,
        env: { PATH: process.env.PATH, VODPIPE_DATA_DIR: join(dir, "data"), VODPIPE_LOG_LEVEL: "silent" },
      });
      expect(JSON.parse(stdout)).toEqual({ batchItemFailures: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
