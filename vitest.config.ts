import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "app/**/*.test.ts", "shared/**/*.test.ts", "services/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // ffmpeg saturates both cores; running test files two at a time is the most this machine takes.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
