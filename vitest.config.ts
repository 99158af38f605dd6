import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx", "test/**/*.test.ts", "test/**/*.test.tsx"],
    // CLI tests run the real bin/aigw, so dist/ must be current.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
