import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDirSettings {
  /** Where work folders go (VODPIPE_TMP_DIR); the system temp folder when unset. */
  tmpDir?: string;
}

/** Runs `work` in a fresh temp folder that is removed afterwards, whatever happens. */
export async function withTempDir<T>(settings: TempDirSettings, label: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(settings.tmpDir ?? tmpdir(), `vodpipe-${label}-`));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
