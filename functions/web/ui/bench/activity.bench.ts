// The Activity Tracker of an account with 10,000 runs: time from navigation start to the
// first page's 50 rows on screen, in Chromium against `steward serve --demo`, median of 9
// loads (target ≤ 300 ms). Not a test: it prints numbers for BENCHMARKS.md.
//
//   npx vite build && npx playwright test -c bench activity
//
// Seeding: the owner signs in once (so the account exists), the server stops, the hidden
// `steward seed-runs` writes 10,000 finished runs of every module, mode and status straight
// into its store (seconds), and the server starts again on the same data. STEWARD_BENCH_RUNS
// changes the count.
import { execFileSync } from "node:child_process";
import { test, expect, type Page } from "@playwright/test";
import { signedIn, startSteward, stewardBin } from "../e2e/steward";

const RUNS = Number(process.env.STEWARD_BENCH_RUNS ?? 10_000);
const LOADS = 9;
const FIRST_PAGE = 50;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Seen {
  rowsAt?: number;
  runsResponseEnd?: number;
}

function seed(dataDir: string) {
  const t0 = Date.now();
  execFileSync(stewardBin(), ["seed-runs", "--data-dir", dataDir, "--count", String(RUNS), "--crm", "hubspot"], { stdio: "inherit" });
  console.log(`seeded ${RUNS} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function countRuns(page: Page, url: string): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const r = (await (await page.request.get(`${url}/runs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).json()) as { runs: unknown[]; cursor?: string | null };
    n += r.runs.length;
    cursor = r.cursor ?? undefined;
  } while (cursor);
  return n;
}

test("Activity Tracker: first page of 10,000 runs", async ({ page }) => {
  test.setTimeout(60 * 60_000);
  const first = await startSteward();
  await signedIn(page, first, "hubspot");
  await first.stop();
  seed(first.dataDir);
  const steward = await startSteward({ dataDir: first.dataDir });
  try {
    // The session cookie belongs to 127.0.0.1 (any port): the new server knows it.
    await page.goto(`${steward.url}/activity`);
    const total = await countRuns(page, steward.url);
    expect(total).toBe(RUNS);

    // When the Runs table first holds a full page of rows, and when GET /runs answered.
    await page.addInitScript((want: number) => {
      const seen: Seen = {};
      (window as unknown as { __seen: Seen }).__seen = seen;
      new MutationObserver((_m, obs) => {
        const rows = document.querySelectorAll('table[aria-label="Runs"] tbody tr').length;
        if (rows >= want) {
          seen.rowsAt = performance.now();
          const api = performance.getEntriesByType("resource").find((e) => /\/runs\?/.test(e.name)) as PerformanceResourceTiming | undefined;
          if (api) seen.runsResponseEnd = api.responseEnd;
          obs.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    }, FIRST_PAGE);

    const rendered: number[] = [];
    const answered: number[] = [];
    for (let i = 0; i <= LOADS; i++) {
      await page.goto(`${steward.url}/activity`, { waitUntil: "commit" });
      await page.getByRole("table", { name: "Runs" }).getByRole("row").nth(FIRST_PAGE).waitFor();
      const seen = await page.evaluate(() => (window as unknown as { __seen: Seen }).__seen);
      if (seen.rowsAt === undefined) throw new Error("the rows were never counted");
      if (i === 0) {
        console.log(`first load (cold cache): ${seen.rowsAt.toFixed(0)} ms`);
        continue;
      }
      rendered.push(seen.rowsAt);
      if (seen.runsResponseEnd !== undefined) answered.push(seen.runsResponseEnd);
    }
    console.log(
      `Activity Tracker, ${RUNS} runs: first ${FIRST_PAGE} rows on screen after navigation: median ${median(rendered).toFixed(0)} ms, min ${Math.min(...rendered).toFixed(0)}, max ${Math.max(...rendered).toFixed(0)} over ${rendered.length} loads (target <= 300 ms); GET /runs answered at median ${median(answered).toFixed(0)} ms`,
    );
  } finally {
    await steward.stop();
  }
});
