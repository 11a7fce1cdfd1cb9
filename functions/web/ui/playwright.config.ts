// Browser tests: Playwright driving Debian's Chromium (never a downloaded browser), headless,
// against `steward serve --demo` started per test file (e2e/steward.ts). Screenshots of every
// screen go to e2e/screenshots (docs/console.md shows them).
import { defineConfig } from "@playwright/test";

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Each run its own results folder: runs side by side must not empty each other's.
process.env.STEWARD_E2E_RUN ??= `${Date.now()}-${process.pid}`;

export default defineConfig({
  testDir: "e2e",
  testMatch: "*.spec.ts",
  timeout: 120_000,
  expect: { timeout: 15_000 },
  workers: Number(process.env.STEWARD_E2E_WORKERS ?? 2),
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  reporter: [["list"]],
  outputDir: `test-results/${process.env.STEWARD_E2E_RUN}`,
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1366, height: 860 },
    launchOptions: { executablePath: process.env.STEWARD_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS },
    trace: "off",
    screenshot: "only-on-failure",
    acceptDownloads: true,
    // No fades (the theme respects it): a notification leaving while axe reads the page
    // would be checked half transparent, its contrast whatever the fade had reached.
    reducedMotion: "reduce",
  },
});
