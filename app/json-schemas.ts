/**
 * Writes docs/schemas/*.schema.json from the zod schemas the code validates and builds with
 * (`npm run docs:schemas`); test/unit/json-schemas.test.ts fails when the committed files differ.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { jobRecordSchema } from "../shared/job-schema.ts";
import { pipelineMessage, s3EventNotification } from "../shared/messages.ts";
import { manifestSchema } from "../services/publish/manifest-schema.ts";

const SCHEMAS: Record<string, z.ZodType> = {
  "job-record": jobRecordSchema,
  manifest: manifestSchema,
  "queue-message": pipelineMessage.describe("A message between stages, on the queue of the stage that handles its type"),
  "s3-event": s3EventNotification.describe("The S3 event notification ingest also accepts from the bucket"),
};

/** File name → the file's text. */
export function renderJsonSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(SCHEMAS).map(([name, schema]) => [
      `${name}.schema.json`,
      `${JSON.stringify({ $id: `${name}.schema.json`, ...z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) }, null, 2)}\n`,
    ]),
  );
}

export const JSON_SCHEMA_DIR = fileURLToPath(new URL("../docs/schemas/", import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(JSON_SCHEMA_DIR, { recursive: true });
  for (const [file, text] of Object.entries(renderJsonSchemas())) await writeFile(`${JSON_SCHEMA_DIR}${file}`, text);
  console.log(`wrote ${Object.keys(SCHEMAS).length} schemas to docs/schemas/`);
}
