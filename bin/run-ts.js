#!/usr/bin/env node
// Runs one TypeScript entry file (a worker, a benchmark) through tsx: `node bin/run-ts.js file.ts args…`.
import { register } from "tsx/esm/api";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

register();
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node bin/run-ts.js <file.ts> [args…]");
  process.exit(64);
}
process.argv = [process.argv[0], resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
