// Benchmarks of the console in Chromium (`npx playwright test -c bench`): they print
// measurements for BENCHMARKS.md; they are not part of infra/test.
import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

export default defineConfig({
  ...base,
  testDir: ".",
  testMatch: "*.bench.ts",
  timeout: 600_000,
  workers: 1,
});
