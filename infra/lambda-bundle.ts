/**
 * Bundles each stage's Lambda entry (services/<stage>/lambda.ts) into one ES module per stage,
 * dist/lambda/<stage>.mjs, for the container image: the Lambda runtime interface client loads
 * JavaScript handlers only. Packages stay external (resolved from the image's node_modules), so
 * native modules (sharp, better-sqlite3) and the ffmpeg packages keep working unchanged.
 *
 * `node bin/run-ts.js infra/lambda-bundle.ts [outdir]` (the image's build stage runs this).
 */
import { build } from "esbuild";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { STAGES } from "../shared/messages.ts";

/** The Node.js the image runs; esbuild leaves syntax this version understands untouched. */
export const LAMBDA_NODE_TARGET = "node22";

export async function bundleLambdaHandlers(outdir: string, root = resolve(fileURLToPath(new URL("..", import.meta.url)))): Promise<string[]> {
  const entryPoints = Object.fromEntries(STAGES.map((stage) => [stage, resolve(root, "services", stage, "lambda.ts")]));
  await build({
    entryPoints,
    outdir,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: LAMBDA_NODE_TARGET,
    outExtension: { ".js": ".mjs" },
    sourcemap: "linked",
    logLevel: "warning",
  });
  return STAGES.map((stage) => resolve(outdir, `${stage}.mjs`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const files = await bundleLambdaHandlers(resolve(process.argv[2] ?? "dist/lambda"));
  for (const file of files) console.log(file);
}
