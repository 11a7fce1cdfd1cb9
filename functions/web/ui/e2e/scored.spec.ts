// Scored matching in the browser (HubSpot): a template that matches by score, built with the
// merge editor and previewed; its pairs to review on the run page; one accepted (kept when
// the page is left), a follow-up preview with the decision that merges that pair; the
// follow-up's learned weights saved to the template, which the editor then says it uses.
import { test, expect, type Locator, type Page } from "@playwright/test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, screen, screenshots, signedIn, startSteward, type Steward } from "./steward";

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

/** Picks `option` in the Mantine select labelled `label` within `scope` (typing `search` first). */
async function pick(page: Page, scope: Locator | Page, label: string, option: string | RegExp, search?: string) {
  const input = scope.getByRole("textbox", { name: label, exact: true }).or(scope.getByRole("combobox", { name: label, exact: true })).first();
  await input.click();
  if (search) await input.fill(search);
  await page.getByRole("option", { name: option }).first().click();
}

async function getJson<T>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(`${steward.url}${path}`);
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

interface Run {
  id: string;
  status: string;
  mode: string;
  template_id: string | null;
  decisions?: { accept?: string[][]; reject?: string[][] };
  score_model?: unknown;
}
interface Row {
  record_id: string | null;
  group_id: string | null;
  action: string;
  role: string | null;
}

/** On a run page: waits until the run ends, expects it succeeded; returns it. */
async function finished(page: Page): Promise<Run> {
  await expect(page).toHaveURL(/\/activity\/[^/?]+$/);
  const id = new URL(page.url()).pathname.split("/").pop() ?? "";
  let run: Run | undefined;
  await expect
    .poll(async () => {
      run = await getJson<Run>(page, `/runs/${id}`);
      return ["succeeded", "partial", "failed", "cancelled"].includes(run.status);
    }, { timeout: 90_000 })
    .toBe(true);
  expect(run?.status).toBe("succeeded");
  await expect(page.getByText("Succeeded", { exact: true }).first()).toBeVisible({ timeout: 30_000 });
  return run as Run;
}

async function rows(page: Page, runId: string, action: string): Promise<Row[]> {
  return (await getJson<{ rows: Row[] }>(page, `/runs/${runId}/rows?limit=500&action=${action}`)).rows;
}

/**
 * The screen (screenshot and axe), and its picture in docs/console: the whole page, or from
 * the top down to the end of `until` (a run page's rows below it are not the point).
 */
async function docShot(page: Page, name: string, until?: Locator) {
  await screen(page, name);
  const docs = join(repoRoot, "docs", "console");
  mkdirSync(docs, { recursive: true });
  const box = until ? await until.boundingBox() : null;
  if (!box) copyFileSync(join(screenshots, `${name}.png`), join(docs, `${name}.png`));
  else await page.screenshot({ path: join(docs, `${name}.png`), fullPage: true, clip: { x: 0, y: 0, width: page.viewportSize()?.width ?? 1366, height: Math.ceil(box.y + box.height + 16) } });
}

test("a scored template built in the editor: pairs to review, one accepted, the follow-up merges it, its weights saved", async ({ page }) => {
  test.setTimeout(300_000);
  await signedIn(page, steward, "hubspot");
  await page.goto(`${steward.url}/modules/merge`);
  await expect(page.getByRole("heading", { name: "Merge Duplicates", level: 2 })).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("Scored contacts");

  // Score instead of rules: the contact's names (crosswise), email and phone to start with.
  await page.getByRole("region", { name: "How records are matched" }).getByText("Score", { exact: true }).click();
  await expect(page.getByRole("radio", { name: "Score", exact: true })).toBeChecked();
  await expect(page.getByRole("region", { name: "Match rules" })).toHaveCount(0);
  const f1 = page.getByRole("group", { name: "Compared field 1" });
  await expect(f1.getByRole("textbox", { name: "Compare crosswise with" }).or(f1.getByRole("combobox", { name: "Compare crosswise with" })).first()).toHaveValue(/\(lastname\)/);
  await page.getByRole("group", { name: "Compared field 4" }).getByLabel("Default region").fill("US");
  await page.getByRole("button", { name: "Add a compared field" }).click();
  const city = page.getByRole("group", { name: "Compared field 5" });
  await pick(page, city, "Field", /\(city\)$/, "city");
  await expect(city.getByText("Case and punctuation ignored")).toBeVisible();
  // A wide review band, so the demo's records give pairs to decide.
  await page.getByLabel("Ask me when at least").fill("50");
  await expect(page.getByText(/Pairs between 50% and 99% are listed for you/)).toBeVisible();
  await expect(page.getByText("Learned from your data on every run", { exact: false })).toBeVisible();
  await docShot(page, "scored-editor");

  // The API's problem under /config/score shows at its input.
  await page.getByLabel("Ask me when at least").fill("99.5");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText(/0\.995 is above merge_threshold/)).toBeVisible();
  await expect(page.getByLabel("Ask me when at least")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Ask me when at least").fill("50");

  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page).toHaveURL(/\/modules\/merge\?template=/);
  const templateId = new URL(page.url()).searchParams.get("template") ?? "";
  const saved = await getJson<{ config: Record<string, unknown> }>(page, `/templates/${templateId}`);
  expect(saved.config.rules ?? []).toEqual([]);
  expect(saved.config.score).toEqual({
    fields: [
      { field: "firstname", compare: "name", swap_with: "lastname" },
      { field: "lastname", compare: "name", swap_with: "firstname" },
      { field: "email", compare: "email" },
      { field: "phone", compare: "phone", default_region: "US" },
      { field: "city", compare: "text" },
    ],
    merge_threshold: 0.99,
    review_threshold: 0.5,
  });

  await page.getByRole("button", { name: "Preview" }).click();
  const preview = await finished(page);
  const pairs = new Map<string, string[]>();
  for (const r of await rows(page, preview.id, "review")) if (r.group_id && r.record_id) pairs.set(r.group_id, [...(pairs.get(r.group_id) ?? []), r.record_id]);
  expect(pairs.size, "the preview has pairs to review").toBeGreaterThan(0);
  const [pairId, ids] = [...pairs.entries()][0] ?? ["", []];
  const [a = "", b = ""] = ids;

  const panel = page.getByRole("region", { name: "Pairs to review" });
  const card = panel.getByRole("listitem", { name: `Pair ${pairId}`, exact: true });
  await expect(card.getByText(/likely the same/)).toBeVisible();
  // The note a field a line: the email row shows both records' values.
  await expect(card.getByRole("table", { name: `Why pair ${pairId} was scored so` }).getByRole("row", { name: /^email/ })).toBeVisible();
  await card.getByRole("button", { name: `Accept pair ${pairId}`, exact: true }).click();
  await expect(panel.getByText(/1\s*accepted/)).toBeVisible();
  await docShot(page, "review-pairs", panel);

  // Leaving the page loses nothing.
  await page.reload();
  await expect(page.getByRole("region", { name: "Pairs to review" }).getByRole("button", { name: `Accept pair ${pairId}`, exact: true })).toHaveAttribute("aria-pressed", "true");

  await page.getByRole("button", { name: "Preview with these decisions" }).click();
  await expect(page).not.toHaveURL(new RegExp(preview.id));
  const follow = await finished(page);
  expect(follow).toMatchObject({ mode: "preview", template_id: templateId });
  expect(follow.decisions?.accept).toEqual([[a, b]]);
  await expect(page.getByText(/^This run follows 1 accepted pair/)).toBeVisible();
  // The accepted pair is merged: both records in one group.
  const merged = await rows(page, follow.id, "merge");
  const groupOf = (id: string) => merged.find((r) => r.record_id === id)?.group_id;
  expect(groupOf(a), `record ${a} is merged`).toBeTruthy();
  expect(groupOf(b)).toBe(groupOf(a));

  // Its weights, saved to the template: the editor then uses them.
  expect(follow.score_model).toBeTruthy();
  await page.getByRole("button", { name: "Save these weights to the template" }).click();
  await expect(page.getByText(/now scores pairs with these weights/)).toBeVisible();
  await screen(page, "scored-follow-up");
  const after = await getJson<{ config: { score: { model?: unknown } } }>(page, `/templates/${templateId}`);
  expect(after.config.score.model).toEqual(follow.score_model);
  await page.goto(`${steward.url}/modules/merge?template=${templateId}`);
  await expect(page.getByText("Using saved weights")).toBeVisible();
  await expect(page.getByRole("button", { name: "Forget saved weights" })).toBeVisible();
  await screen(page, "scored-saved-weights");
});
