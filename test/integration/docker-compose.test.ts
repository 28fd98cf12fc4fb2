import { beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

function hasDockerCompose(): boolean {
  try {
    execFileSync("docker-compose", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// There is no Docker engine on the build machines; `docker-compose config` still parses and
// validates the file. .ci/run installs Debian's docker-compose, so CI never skips this.
describe.skipIf(!hasDockerCompose())("docker-compose.yml (skipped without docker-compose: apt-get install docker-compose)", () => {
  let composeConfig: string;
  beforeAll(async () => {
    composeConfig = (await run("docker-compose", ["-f", "docker-compose.yml", "config"])).stdout;
  });

  it("is a valid compose file with the vodpipe service and its data volume", () => {
    expect(composeConfig).toMatch(/^services:\n\s+vodpipe:/m);
    expect(composeConfig).toContain("VODPIPE_DATA_DIR: /data");
    expect(composeConfig).toMatch(/^volumes:\n\s+vodpipe-data:/m);
  });

  it("gives the container its own node_modules, so its install leaves the host's alone", () => {
    const service = composeConfig.slice(composeConfig.indexOf("vodpipe:"), composeConfig.search(/^volumes:/m));
    // The checkout is mounted at /app; a volume of its own shadows /app/node_modules. (Short
    // syntax from docker-compose 1.x, long syntax from Compose v2.)
    expect(service).toMatch(/:\/app(:rw)?$|target: \/app$/m);
    expect(service).toMatch(/^\s*- \/app\/node_modules$|target: \/app\/node_modules$/m);
  });
});
