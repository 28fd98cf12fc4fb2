import { beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../../shared/config.ts";
import { STAGES } from "../../shared/messages.ts";
import { queueNames } from "../../shared/queue/queue-set.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

function hasDockerCompose(): boolean {
  try {
    execFileSync("docker-compose", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[]; disable?: boolean };
};

/** `docker-compose config`'s YAML as data (PyYAML ships with Debian's docker-compose). */
async function composeConfig(): Promise<{ services: Record<string, Service> }> {
  const { stdout } = await run("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: root });
  const toJson = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))";
  const child = execFileSync("python3", ["-c", toJson], { input: stdout, encoding: "utf8" });
  return JSON.parse(child);
}

// There is no Docker engine on the build machines; `docker-compose config` still parses,
// interpolates and validates the file. .ci/run installs Debian's docker-compose, so CI never skips.
describe.skipIf(!hasDockerCompose())("docker-compose.yml (skipped without docker-compose: apt-get install docker-compose)", () => {
  let services: Record<string, Service>;
  beforeAll(async () => {
    services = (await composeConfig()).services;
  });

  const vodpipeServices = () => Object.entries(services).filter(([, service]) => service.build);

  it("runs one worker service per stage, transcode with replicas, and the API, all from infra/Dockerfile", () => {
    for (const stage of STAGES) expect(services[stage]?.command, stage).toEqual(["worker", stage]);
    expect(services.transcode!.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(services.api!.command).toEqual(["api"]);
    expect(services.api!.healthcheck?.test).toEqual(["CMD", "node", "infra/healthcheck.mjs"]);
    for (const [name, service] of vodpipeServices()) {
      expect(service.build!.dockerfile, name).toBe("infra/Dockerfile");
      expect(service.image, name).toBe("vodpipe:local");
    }
    expect(vodpipeServices().map(([name]) => name).sort()).toEqual([...STAGES, "api", "setup"].sort());
  });

  it("pins every pulled image to a version (no latest), with an emulator that has S3 -> SQS notifications", () => {
    for (const [name, service] of Object.entries(services).filter(([, s]) => !s.build)) {
      expect(service.image, name).toMatch(/^[\w./-]+:\d+\.\d+\.\d+$/);
    }
    const [major, minor] = services.fauxqs!.image!.split(":")[1]!.split(".").map(Number);
    // fauxqs delivers bucket notifications to SQS from 2.7 on.
    expect(major! > 2 || (major === 2 && minor! >= 7)).toBe(true);
  });

  it("sets up in order: the emulator, then the queues (vodpipe setup), then the bucket and its trigger, then the workers", () => {
    expect(services.setup!.command).toEqual(["setup"]);
    expect(services.setup!.depends_on).toEqual({ fauxqs: { condition: "service_healthy" } });
    expect(services["bucket-trigger"]!.depends_on).toEqual({ setup: { condition: "service_completed_successfully" } });
    for (const name of [...STAGES, "api"]) {
      expect(services[name]!.depends_on, name).toEqual({ "bucket-trigger": { condition: "service_completed_successfully" } });
    }
  });

  it("points the bucket's ObjectCreated events under sources/ at the ingest queue", () => {
    const environment = services.ingest!.environment!;
    const config = loadConfig(environment);
    const script = services["bucket-trigger"]!.command!.join("\n").replace(/\$\$/g, "$");
    const bucket = environment.VODPIPE_S3_BUCKET!;
    expect(script).toContain(`aws s3api create-bucket --bucket ${bucket}`);
    expect(script).toContain(`--queue-name ${queueNames(config.queue.prefix, "ingest").queue} `);
    const json = /--notification-configuration "(\{[\s\S]*?\})"\n/.exec(script)?.[1];
    expect(json).toBeDefined();
    const notification = JSON.parse(json!.replace(/\\"/g, '"').replace("$queue_arn", "arn:aws:sqs:us-east-1:000000000000:q"));
    expect(notification.QueueConfigurations).toEqual([
      {
        Id: "vodpipe-ingest",
        QueueArn: "arn:aws:sqs:us-east-1:000000000000:q",
        Events: ["s3:ObjectCreated:*"],
        Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "sources/" }] } },
      },
    ]);
    expect(services["bucket-trigger"]!.environment!.AWS_ENDPOINT_URL).toBe(environment.VODPIPE_S3_ENDPOINT);
  });

  it("gives every vodpipe service settings vodpipe accepts: S3 and SQS on the emulator", () => {
    for (const [name, service] of vodpipeServices()) {
      const config = loadConfig(service.environment ?? {});
      expect(config.storage, name).toMatchObject({ kind: "s3", endpoint: "http://fauxqs:4566", bucket: "vodpipe" });
      expect(config.queue, name).toMatchObject({ kind: "sqs", endpoint: "http://fauxqs:4566" });
    }
  });

  it("runs CLI commands that exist", () => {
    const cli = readFileSync(resolve(root, "app/cli/main.ts"), "utf8");
    for (const [name, service] of vodpipeServices()) {
      expect(cli, name).toContain(`case "${service.command![0]}"`);
    }
  });
});
