// The run page and the Activity Tracker on HubSpot: a merge preview read on its run page,
// applied as reviewed less two groups (exactly the other groups merged in the sandbox; a
// record changed in the sandbox since the preview comes back as a conflict row), found in
// the Activity Tracker by its pasted Run ID and its CSV downloaded. Runs are created through
// the API (the module page is tested on its own).
import { readFileSync } from "node:fs";
import { test, expect, type APIRequestContext, type Page } from "@playwright/test";
import type { components } from "../src/api/schema";
import { screen, signedIn, startSteward, type Steward } from "./steward";

type Run = components["schemas"]["Run"];
type RunRowsPage = components["schemas"]["RunRowsPage"];

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

/** The sandbox's static HubSpot private-app token (infra/sandbox: never expires). */
const HUBSPOT_PAT = "pat-na1-sandbox";

const MERGE_BY_EMAIL = {
  object: "contacts",
  rules: [{ name: "same email", all: [{ field: "email", compare: "normalized", as: "email", ignore_dots: true, ignore_plus: true }] }],
  max_group_size: 10,
};

/** Steward's API as the signed-in page's session, with its CSRF token on writes. */
async function apiOf(page: Page) {
  const req: APIRequestContext = page.request;
  const me = (await (await req.get(`${steward.url}/me`)).json()) as { csrf_token: string };
  const headers = { "X-CSRF-Token": me.csrf_token };
  return {
    async post<T>(path: string, data: unknown): Promise<T> {
      const r = await req.post(`${steward.url}${path}`, { headers, data });
      expect(r.status(), `POST ${path}: ${await r.text()}`).toBeLessThan(300);
      return (await r.json()) as T;
    },
    async get<T>(path: string): Promise<T> {
      const r = await req.get(`${steward.url}${path}`);
      expect(r.status(), `GET ${path}: ${await r.text()}`).toBe(200);
      return (await r.json()) as T;
    },
    /** Waits until the run's status is final. */
    async settled(id: string): Promise<Run> {
      let run: Run | undefined;
      await expect
        .poll(async () => {
          run = await this.get<Run>(`/runs/${id}`);
          return ["succeeded", "partial", "failed", "cancelled"].includes(run.status);
        }, { timeout: 60_000 })
        .toBe(true);
      return run as Run;
    },
  };
}

/** The sandbox CRM's origin: where Steward sends the browser to sign in. */
async function sandboxOrigin(page: Page): Promise<string> {
  const r = await page.request.get(`${steward.url}/auth/hubspot/login`, { maxRedirects: 0 });
  return new URL(r.headers()["location"] ?? "").origin;
}

/** Whether this Steward has `POST /runs/{id}/apply` (apply a preview as reviewed). */
async function hasApplyReviewed(page: Page): Promise<boolean> {
  const doc = (await (await page.request.get(`${steward.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  return "/runs/{id}/apply" in doc.paths;
}

async function mergePreview(page: Page) {
  const api = await apiOf(page);
  const template = await api.post<{ id: string }>("/templates", { name: "Duplicate emails", module: "merge", config: MERGE_BY_EMAIL });
  const started = await api.post<Run>("/runs", { template_id: template.id, mode: "preview" });
  const preview = await api.settled(started.id);
  expect(preview.status).toBe("succeeded");
  const rows = await api.get<RunRowsPage>(`/runs/${preview.id}/rows?limit=500`);
  const groups = new Map<string, { master: string; duplicates: string[] }>();
  for (const r of rows.rows) {
    if (!r.group_id || !r.record_id) continue;
    const g = groups.get(r.group_id) ?? { master: "", duplicates: [] };
    if (r.role === "master") g.master = r.record_id;
    else g.duplicates.push(r.record_id);
    groups.set(r.group_id, g);
  }
  return { api, preview, groups };
}

test("a merge preview is read on its run page, applied less two groups, with a changed record as a conflict", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  test.fixme(!(await hasApplyReviewed(page)), "this steward binary has no POST /runs/{id}/apply yet (the backend's apply-as-reviewed endpoint is not built into target/debug/steward)");
  const { api, preview, groups } = await mergePreview(page);
  const ids = [...groups.keys()];
  expect(ids.length).toBeGreaterThanOrEqual(4);
  const [left1, left2, changed] = ids as [string, string, string];
  const applied = ids.filter((g) => g !== left1 && g !== left2 && g !== changed);

  // The run page: what ran, its counts and its rows, every group ticked.
  await page.goto(`${steward.url}/activity/${preview.id}`);
  await expect(page.getByRole("heading", { name: "Merge Duplicates: preview of contacts" })).toBeVisible();
  await expect(page.getByText("Succeeded", { exact: true }).first()).toBeVisible();
  const rows = page.getByRole("table", { name: "Rows of the run" });
  const g1 = groups.get(left1)!;
  await expect(rows.getByRole("link", { name: new RegExp(`^${g1.master} in HubSpot`) })).toHaveAttribute(
    "href",
    new RegExp(`^https://app\\.hubspot\\.com/contacts/\\d+/record/0-1/${g1.master}$`),
  );
  for (const g of ids) await expect(rows.getByRole("checkbox", { name: `Apply merge group ${g}`, exact: true })).toBeChecked();
  await screen(page, "run-merge-preview");

  // Someone changes a record of a third group in HubSpot after the preview.
  const sandbox = await sandboxOrigin(page);
  const victim = groups.get(changed)!.duplicates[0]!;
  const patch = await page.request.patch(`${sandbox}/hubspot/crm/v3/objects/contacts/${victim}`, {
    headers: { Authorization: `Bearer ${HUBSPOT_PAT}` },
    data: { properties: { email: `changed.since.preview.${victim}@example.com` } },
  });
  expect(patch.status(), await patch.text()).toBe(200);
  await page.request.post(`${sandbox}/_sandbox/writes/reset`);

  // Untick two groups and apply the rest.
  await rows.getByRole("checkbox", { name: `Apply merge group ${left1}`, exact: true }).uncheck();
  await rows.getByRole("checkbox", { name: `Apply merge group ${left2}`, exact: true }).uncheck();
  const n = preview.counts.planned - 2;
  await expect(page.getByText(`${n} of ${preview.counts.planned} changes ticked`)).toBeVisible();
  await page.getByRole("button", { name: `Apply the ${n} ticked changes` }).click();
  const dialog = page.getByRole("dialog", { name: /Apply \d+ changes to HubSpot/ });
  await expect(dialog.getByText("Merges cannot be undone")).toBeVisible();
  await screen(page, "run-apply-confirm");
  await dialog.getByRole("button", { name: "Apply now" }).click();

  // The new run: linked to the preview, ends partly failed because of the conflict.
  await expect(page).not.toHaveURL(new RegExp(`/activity/${preview.id}$`));
  const applyId = new URL(page.url()).pathname.split("/").pop()!;
  const run = await api.settled(applyId);
  expect(run.mode).toBe("apply");
  expect(run.from_preview).toBe(preview.id);
  expect(run.status).toBe("partial");
  await expect(page.getByText("Partly failed", { exact: true }).first()).toBeVisible();
  await expect(page.getByText(/Some records were not changed/)).toBeVisible();
  await expect(page.getByRole("link", { name: `run ${preview.id}` })).toBeVisible();
  await screen(page, "run-merge-applied");

  // Exactly the other groups were merged in the sandbox.
  const writes = (await (await page.request.get(`${sandbox}/_sandbox/writes`)).json()) as { id: string; op: string }[];
  const merged = new Set(writes.filter((w) => w.op === "merge").map((w) => w.id));
  for (const g of applied) for (const d of groups.get(g)!.duplicates) expect([...merged], `group ${g}'s duplicate ${d}`).toContain(d);
  for (const g of [left1, left2, changed]) {
    const touched = [groups.get(g)!.master, ...groups.get(g)!.duplicates].filter((id) => writes.some((w) => w.id === id));
    expect(touched, `group ${g} was left out or changed since, yet written`).toEqual([]);
  }

  // The changed record's group is a conflict row.
  await page.getByRole("combobox", { name: "Outcome" }).selectOption("failed");
  const audit = page.getByRole("table", { name: "Rows of the run" });
  await expect(audit.getByRole("link", { name: new RegExp(`^${victim} in HubSpot`) })).toBeVisible();
  await expect(audit.getByText(/CONFLICT/).first()).toBeVisible();
  await screen(page, "run-merge-conflicts");

  // The preview now links to the run that applied it, and offers no second apply.
  await page.goto(`${steward.url}/activity/${preview.id}`);
  await expect(page.getByRole("link", { name: `run ${applyId}` })).toBeVisible();
  await expect(page.getByRole("button", { name: /ticked change/ })).toHaveCount(0);
});

test("the Activity Tracker finds a run by its pasted Run ID, opens it and downloads its CSV", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  const { preview } = await mergePreview(page);
  const other = await mergePreview(page);

  await page.goto(`${steward.url}/activity`);
  const runs = page.getByRole("table", { name: "Runs" });
  await expect(runs.getByRole("link", { name: new RegExp(`open run ${other.preview.id}`) })).toBeVisible();
  await screen(page, "activity");

  // Paste the Run ID: only that run, with an obvious way to open it.
  await page.getByRole("textbox", { name: "Run ID" }).fill(`  ${preview.id} `);
  await expect(page).toHaveURL(new RegExp(`[?&]run=${preview.id}`));
  await expect(runs.getByRole("row")).toHaveCount(2);
  await expect(runs.getByRole("link", { name: new RegExp(`open run ${preview.id}`) })).toBeVisible();
  await screen(page, "activity-run-id");

  // Its CSV: the plan's header row.
  const download = page.waitForEvent("download");
  await runs.getByRole("link", { name: `CSV of run ${preview.id}` }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`steward-merge-preview-${preview.id}.csv`);
  const text = readFileSync((await file.path())!, "utf8");
  expect(text.split("\r\n")[0]).toBe("record_id,action,group_id,role,note,email (before),email (after)");

  // A report email's link opens the same view; "Open run" goes to its page.
  await page.goto(`${steward.url}/activity?run=${preview.id}`);
  await page.getByRole("link", { name: "Open run", exact: true }).click();
  await expect(page).toHaveURL(`${steward.url}/activity/${preview.id}`);
  await expect(page.getByRole("heading", { name: "Merge Duplicates: preview of contacts" })).toBeVisible();

  // The run page's CSV button downloads the same file.
  const again = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download CSV" }).click();
  expect((await again).suggestedFilename()).toBe(`steward-merge-preview-${preview.id}.csv`);
});
