import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../shared/config.ts";
import { readBenchTable, renderBenchTable, type BenchResults } from "../../bench/readme-table.ts";

const root = new URL("../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");

/** The variable names in the first column of the README's Configuration table. */
function documentedVariables(text: string): string[] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(text)?.[1];
  if (!section) throw new Error("README.md has no Configuration section");
  const firstCells = section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => line.split("|")[1] ?? "");
  return firstCells.flatMap((cell) => cell.match(/VODPIPE_[A-Z0-9_]+/g) ?? []);
}

describe("README.md", () => {
  it("lists every VODPIPE_ variable shared/config.ts reads, and no other", () => {
    const documented = documentedVariables(readme);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it("shows the benchmark figures of bench/results/latest.json (npm run bench:readme)", () => {
    const results = JSON.parse(readFileSync(new URL("bench/results/latest.json", root), "utf8")) as BenchResults;
    expect(readBenchTable(readme)).toBe(renderBenchTable(results));
  });
});
