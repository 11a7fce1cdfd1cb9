// The Activity Tracker of an account with 10,000 runs: time from navigation start to the
// first page's 50 rows on screen, in Chromium against `steward serve --demo`, median of 9
// loads (target ≤ 300 ms). Not a test: it prints numbers for BENCHMARKS.md.
//
//   npx vite build && npx playwright test -c bench activity
//
// Seeding: Steward has no way to write runs but starting them, so the bench starts 10,000
// real previews through `POST /runs` (Data Validation, one contact each: the smallest run
// the API takes), as the console would, and waits until the worker has finished them all.
// STEWARD_BENCH_RUNS changes the count.
import { test, expect, type Page } from "@playwright/test";
import { signedIn, startSteward } from "../e2e/steward";

const RUNS = Number(process.env.STEWARD_BENCH_RUNS ?? 10_000);
const LOADS = 9;
const FIRST_PAGE = 50;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Seen {
  rowsAt?: number;
  runsResponseEnd?: number;
}

async function seed(page: Page, url: string) {
  const me = (await (await page.request.get(`${url}/me`)).json()) as { csrf_token: string };
  const headers = { "X-CSRF-Token": me.csrf_token };
  const body = { module: "validate", mode: "preview", scope: { ids: ["1001"] }, config: { object: "contacts", rules: [{ rule: "email", field: "email" }] } };
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      next++;
      const r = await page.request.post(`${url}/runs`, { headers, data: body });
      if (r.status() !== 202) throw new Error(`POST /runs answered ${r.status()}: ${await r.text()}`);
      if (next % 1000 === 0) console.log(`  ${next} runs started (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const started = Date.now() - t0;
  // Measure an idle server: every run ended.
  await expect
    .poll(async () => {
      const page1 = (await (await page.request.get(`${url}/runs?limit=1`)).json()) as { runs: { status: string }[] };
      return page1.runs[0]?.status;
    }, { timeout: 30 * 60_000, intervals: [2000] })
    .toMatch(/succeeded|partial|failed|cancelled/);
  console.log(`seeded ${RUNS} runs: started in ${(started / 1000).toFixed(0)} s, all ended after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
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
  const steward = await startSteward();
  try {
    await signedIn(page, steward, "hubspot");
    await seed(page, steward.url);
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
