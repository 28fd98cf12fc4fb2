import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { JSON_SCHEMA_DIR, renderJsonSchemas } from "../../app/json-schemas.ts";

describe("docs/schemas", () => {
  const generated = renderJsonSchemas();

  it("holds exactly the schemas generated from the zod types (npm run docs:schemas)", () => {
    expect(readdirSync(JSON_SCHEMA_DIR).sort()).toEqual(Object.keys(generated).sort());
    for (const [file, text] of Object.entries(generated)) {
      expect(readFileSync(`${JSON_SCHEMA_DIR}${file}`, "utf8"), file).toBe(text);
    }
  });

  it("describes the job record's and the manifest's fields, closed to others", () => {
    const job = JSON.parse(generated["job-record.schema.json"]!);
    expect(job.additionalProperties).toBe(false);
    expect(job.required).toEqual(expect.arrayContaining(["videoId", "status", "sourceKey", "createdAt", "updatedAt"]));
    expect(job.properties.status.enum).toEqual(["processing", "ready", "failed", "deleted"]);
    const manifest = JSON.parse(generated["manifest.schema.json"]!);
    expect(Object.keys(manifest.properties)).toEqual(
      expect.arrayContaining(["id", "durationSeconds", "source", "renditions", "audio", "thumbnails", "files", "timings"]),
    );
  });
});
