// The bulk, transform and validate editors in the browser: a transform template built with
// the editor, previewed and applied (HubSpot); a validate run whose report email carries the
// CSV; a bulk filter built on Salesforce and previewed.
import { test, expect, type Locator, type Page } from "@playwright/test";
import { screen, signedIn, startSteward, type Steward } from "./steward";

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

interface Run {
  id: string;
  status: string;
  mode: string;
  module: string;
  template_id: string | null;
  config: unknown;
  counts: { planned: number; applied: number; failed: number; skipped: number };
}

async function getJson<T>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(`${steward.url}${path}`);
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

const FINAL = ["succeeded", "partial", "failed", "cancelled"];

/** On the run page the Review opened: waits until the run ends and the page says it succeeded; returns the run. */
async function finishedRun(page: Page, name: string): Promise<Run> {
  await expect(page).toHaveURL(/\/activity\/[^/?]+$/);
  const id = new URL(page.url()).pathname.split("/").pop() ?? "";
  let run: Run | undefined;
  await expect
    .poll(async () => {
      run = await getJson<Run>(page, `/runs/${id}`);
      return FINAL.includes(run.status);
    }, { timeout: 90_000 })
    .toBe(true);
  expect(run?.status).toBe("succeeded");
  await expect(page.getByText("Succeeded", { exact: true }).first()).toBeVisible({ timeout: 30_000 });
  await screen(page, name);
  return run as Run;
}

test("a transform template built with the editor, previewed, then applied (HubSpot)", async ({ page }) => {
  test.setTimeout(300_000);
  await signedIn(page, steward, "hubspot");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Transform Data" }).click();
  await expect(page.getByRole("heading", { name: "Transform Data", level: 2 })).toBeVisible();
  // A new template starts on contacts, trimming and name-casing first names.
  await expect(page.getByRole("group", { name: "Step 1" }).getByRole("textbox", { name: "Function" }).or(page.getByRole("group", { name: "Step 1" }).getByRole("combobox", { name: "Function" })).first()).toHaveValue("Trim whitespace");
  await screen(page, "transform-new");

  await page.getByLabel("Name", { exact: true }).fill("Countries and phones");
  // Step 2 becomes: country names to two-letter codes.
  const step2 = page.getByRole("group", { name: "Step 2" });
  await pick(page, step2, "Function", "Standardize country");
  await pick(page, step2, "Field", "Country/Region (country)", "country");
  await pick(page, step2, "Write as", "Two-letter code (US)");
  // Step 3: phone numbers in E.164, US numbers without a code; then moved to be first.
  await page.getByRole("button", { name: "Add step" }).click();
  const step3 = page.getByRole("group", { name: "Step 3" });
  await pick(page, step3, "Function", "Format phone number");
  await pick(page, step3, "Field", /\(phone\)$/, "phone");
  await pick(page, step3, "Default country", /\(US\)$/, "United States");
  await page.getByRole("button", { name: "Move step 3 up" }).click();
  await page.getByRole("button", { name: "Move step 2 up" }).click();
  await expect(page.getByRole("group", { name: "Step 1" }).getByText(/\(650\) 253-0000 → \+16502530000/)).toBeVisible();
  await page.getByRole("checkbox", { name: /List records whose values cannot be fixed/ }).check();
  await screen(page, "transform-built");

  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page).toHaveURL(/\/modules\/transform\?template=/);
  const templateId = new URL(page.url()).searchParams.get("template") ?? "";
  const template = await getJson<{ config: unknown }>(page, `/templates/${templateId}`);
  expect(template.config).toEqual({
    object: "contacts",
    steps: [
      { field: "phone", fn: "phone", format: "e164", default_region: "US" },
      { field: "firstname", fn: "trim" },
      { field: "country", fn: "country", to: "alpha2" },
    ],
    flag_problems: true,
  });

  await page.getByRole("button", { name: "Preview" }).click();
  const preview = await finishedRun(page, "transform-preview-run");
  expect(preview).toMatchObject({ mode: "preview", module: "transform", template_id: templateId });
  expect(preview.counts.planned).toBeGreaterThan(0);

  await page.goto(`${steward.url}/modules/transform?template=${templateId}`);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Countries and phones");
  await page.getByRole("button", { name: "Apply", exact: true }).click();
  await expect(page.getByRole("dialog", { name: "Apply in HubSpot?" })).toBeVisible();
  await screen(page, "transform-apply-confirm");
  await page.getByRole("button", { name: "Apply now" }).click();
  const applied = await finishedRun(page, "transform-apply-run");
  expect(applied).toMatchObject({ mode: "apply", module: "transform" });
  expect(applied.counts.applied).toBeGreaterThan(0);
  expect(applied.counts.failed).toBe(0);
});

test("a validate run with Notify: the report email carries the CSV", async ({ page }) => {
  test.setTimeout(300_000);
  await signedIn(page, steward, "hubspot");
  await page.goto(`${steward.url}/modules/validate`);
  await expect(page.getByRole("heading", { name: "Data Validation", level: 2 })).toBeVisible();
  // The new template's rules: email required and valid. Add: phone valid for the US, with a fix.
  await expect(page.getByRole("group", { name: "Rule 2" })).toBeVisible();
  await page.getByRole("button", { name: "Add rule" }).click();
  const rule3 = page.getByRole("group", { name: "Rule 3" });
  await pick(page, rule3, "Field", /\(phone\)$/, "phone");
  await pick(page, rule3, "Rule", "Is a valid phone number");
  await pick(page, rule3, "Default country", /\(US\)$/, "United States");
  await rule3.getByLabel("Message in the report (optional)").fill("needs a phone number we can dial");
  await page.getByRole("button", { name: "Add fix step" }).click();
  const fix = page.getByRole("group", { name: "Fix step 1" });
  await pick(page, fix, "Field", /\(email\)$/, "email");
  await pick(page, fix, "Function", "Clean email address");
  await screen(page, "validate-built");

  await page.getByRole("tab", { name: /Notify/ }).click();
  const recipients = page.getByRole("textbox", { name: "Recipients" }).or(page.getByRole("combobox", { name: "Recipients" })).first();
  await recipients.fill("ops@example.com");
  await recipients.press("Enter");
  await expect(page.getByRole("tab", { name: "Notify (1)" })).toBeVisible();
  await page.getByLabel("Subject", { exact: true }).fill("Contact hygiene report");
  await screen(page, "validate-notify");

  const before = steward.outbox().length;
  await page.getByRole("button", { name: "Preview" }).click();
  const run = await finishedRun(page, "validate-preview-run");
  expect(run.config).toMatchObject({
    object: "contacts",
    rules: [{ rule: "required", field: "email" }, { rule: "email", field: "email" }, { rule: "phone", field: "phone", region: "US", message: "needs a phone number we can dial" }],
    fix: [{ field: "email", fn: "email" }],
  });
  expect(run.counts.planned).toBeGreaterThan(0);

  let mail: { name: string; text: string } | undefined;
  await expect
    .poll(() => {
      mail = steward.outbox().slice(before).find((m) => m.text.includes("Contact hygiene report"));
      return Boolean(mail);
    }, { timeout: 60_000 })
    .toBe(true);
  expect(mail?.text).toMatch(/^To: .*ops@example\.com/m);
  expect(mail?.text).toMatch(/Content-Disposition: attachment;[\s\S]*?filename="?[^"\r\n]+\.csv/);
  // The run page keeps asking until the report has gone out: no reload.
  await expect(page.getByText(/with the CSV attached/)).toBeVisible({ timeout: 30_000 });
  await screen(page, "validate-report-sent");
});

test("a bulk filter built on Salesforce, previewed", async ({ page }) => {
  test.setTimeout(300_000);
  await signedIn(page, steward, "salesforce");
  await page.goto(`${steward.url}/modules/bulk`);
  await expect(page.getByRole("heading", { name: "Bulk Operations", level: 2 })).toBeVisible();
  await expect(page.getByText("No conditions: every Contact record is changed.")).toBeVisible();
  // Contacts in the US written "usa" or "United States", created since 2025.
  await page.getByRole("button", { name: "Add condition" }).click();
  const c1 = page.getByRole("group", { name: "Condition 1" });
  await pick(page, c1, "Field", "Mailing Country (MailingCountry)", "Mailing Country");
  await pick(page, c1, "Operator", "is any of");
  const values = c1.getByRole("textbox", { name: "Values" }).or(c1.getByRole("combobox", { name: "Values" })).first();
  for (const v of ["usa", "United States"]) {
    await values.fill(v);
    await values.press("Enter");
  }
  await page.getByRole("button", { name: "Add condition" }).click();
  const c2 = page.getByRole("group", { name: "Condition 2" });
  await pick(page, c2, "Field", "Created Date (CreatedDate)", "Created Date");
  await pick(page, c2, "Operator", "is on or after");
  await c2.getByLabel("Value", { exact: true }).fill("2025-01-01");
  // What to do: write the country as its code.
  const action = page.getByRole("group", { name: "Action 1" });
  await pick(page, action, "Field", "Mailing Country (MailingCountry)", "Mailing Country");
  await action.getByLabel("New value", { exact: true }).fill("US");
  await screen(page, "bulk-filter-salesforce");

  await page.getByRole("button", { name: "Preview" }).click();
  const run = await finishedRun(page, "bulk-preview-run-salesforce");
  expect(run.config).toEqual({
    object: "Contact",
    filter: {
      all: [
        { field: "MailingCountry", op: "in", value: ["usa", "United States"] },
        { field: "CreatedDate", op: "gte", value: "2025-01-01", type: "date" },
      ],
    },
    actions: [{ set: { field: "MailingCountry", value: "US" } }],
  });
  expect(run.counts.planned).toBeGreaterThan(0);
});

test("an API error shows beside the field its pointer names", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  await page.goto(`${steward.url}/modules/transform`);
  const step2 = page.getByRole("group", { name: "Step 2" });
  await pick(page, step2, "Function", "Find and replace (regex)");
  await step2.getByLabel("Find (regex)").fill("(unclosed");
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(step2.getByText(/regex parse error/)).toBeVisible();
  await expect(step2.getByLabel("Find (regex)")).toHaveAttribute("aria-invalid", "true");
  await screen(page, "transform-field-error");
});
