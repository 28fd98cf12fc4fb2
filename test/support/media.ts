import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** The folder of real test media beside the checkout (../shared/media). */
export const MEDIA_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../shared/media");

export function mediaFile(name: string): string {
  const path = join(MEDIA_DIR, name);
  if (!existsSync(path)) throw new Error(`test media missing: ${path} (expected ../shared/media beside the checkout)`);
  return path;
}
