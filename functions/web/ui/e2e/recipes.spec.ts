// Recipes on Salesforce as the account's owner uses them: a two-step recipe built from two
// templates, saved, run now and followed to its end, a step's run opened and back; a step
// whose template moved to another object refused beside that step; CRM automation
// activated (the signing secret shown and copied once), the endpoint on the Recipes screen,
// the secret rotated, automation deactivated. Templates are made through the API (the
// module pages are tested on their own).
import { test, expect, type Page } from "@playwright/test";
import type { components } from "../src/api/schema";
import { screen, signedIn, startSteward, type Steward } from "./steward";

type Template = components["schemas"]["Template"];

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

/** Steward's API as the signed-in page's session, with its CSRF token on writes. */
async function apiOf(page: Page) {
  const me = (await (await page.request.get(`${steward.url}/me`)).json()) as { csrf_token: string };
  const headers = { "X-CSRF-Token": me.csrf_token };
  return {
    async post<T>(path: string, data: unknown): Promise<T> {
      const r = await page.request.post(`${steward.url}${path}`, { headers, data });
      expect(r.status(), `POST ${path}: ${await r.text()}`).toBeLessThan(300);
      return (await r.json()) as T;
    },
    async put<T>(path: string, data: unknown, version: number): Promise<T> {
      const r = await page.request.put(`${steward.url}${path}`, { headers: { ...headers, "If-Match": `"${version}"` }, data });
      expect(r.status(), `PUT ${path}: ${await r.text()}`).toBe(200);
      return (await r.json()) as T;
    },
  };
}

const NAMES = { module: "transform", name: "Title-case last names", config: { object: "Contact", steps: [{ field: "LastName", fn: "title_case" }] } };
const SOURCE = { module: "bulk", name: "Lead source Web", config: { object: "Contact", actions: [{ set: { field: "LeadSource", value: "Web" } }] } };
const LEADS = { module: "transform", name: "Title-case lead names", config: { object: "Lead", steps: [{ field: "LastName", fn: "title_case" }] } };

const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });

test("the owner builds a two-step recipe, runs it now, follows it to the end and opens a step's run", async ({ page }) => {
  test.setTimeout(240_000);
  await signedIn(page, steward, "salesforce");
  const api = await apiOf(page);
  await api.post<Template>("/templates", NAMES);
  const source = await api.post<Template>("/templates", SOURCE);
  await api.post<Template>("/templates", LEADS);

  await nav(page).getByRole("link", { name: "Recipes" }).click();
  await expect(page).toHaveURL(/\/automation\/recipes$/);
  await expect(page.getByRole("heading", { name: "Recipes", level: 2 })).toBeVisible();
  await expect(page.getByText("No recipes yet")).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "CRM automation is off" })).toBeVisible();
  await screen(page, "recipes-empty");

  // Two steps; once step 1 works on Contact, step 2 offers only Contact templates.
  await page.getByRole("link", { name: "New recipe" }).click();
  await expect(page).toHaveURL(/\/automation\/recipes\/new$/);
  await page.getByRole("textbox", { name: "Name" }).fill("Tidy new contacts");
  const step1 = page.getByRole("region", { name: "Step 1" });
  await step1.getByRole("combobox", { name: "Template for step 1" }).selectOption({ label: "Title-case last names (Contact)" });
  await step1.getByRole("radio", { name: "Apply (writes to the CRM)" }).check();
  await page.getByRole("button", { name: "Add step" }).click();
  const step2 = page.getByRole("region", { name: "Step 2" });
  const picker2 = step2.getByRole("combobox", { name: "Template for step 2" });
  await expect(picker2.getByRole("option", { name: "Title-case lead names (Lead)" })).toHaveCount(0);
  await picker2.selectOption({ label: "Lead source Web (Contact)" });
  await expect(page.getByText("Every step works on Contact records")).toBeVisible();
  // Reordered and back: each step keeps its template and mode.
  await step2.getByRole("button", { name: "Move step 2 up" }).click();
  await expect(page.getByRole("combobox", { name: "Template for step 1" })).toHaveValue(source.id);
  await expect(page.getByRole("region", { name: "Step 2" }).getByRole("radio", { name: "Apply (writes to the CRM)" })).toBeChecked();
  await page.getByRole("button", { name: "Move step 2 up" }).click();
  await expect(page.getByRole("combobox", { name: "Template for step 2" })).toHaveValue(source.id);
  await screen(page, "recipe-new");
  await page.getByRole("button", { name: "Save recipe" }).click();
  await expect(page).toHaveURL(/\/automation\/recipes\/[0-9A-Z]{26}$/);
  const recipeId = page.url().split("/").pop() ?? "";
  await expect(page.getByRole("heading", { name: "Tidy new contacts", level: 2 })).toBeVisible();
  await expect(page.getByRole("region", { name: "For Salesforce Flows" })).toContainText(recipeId);
  await expect(page.getByText("This recipe has not run yet.")).toBeVisible();
  await screen(page, "recipe-saved");

  // Run now: the recipe run, followed until it ends.
  await page.getByRole("button", { name: "Run now" }).click();
  await expect(page).toHaveURL(/\/automation\/recipe-runs\/[0-9A-Z]{26}$/);
  await expect(page.getByRole("heading", { name: "Recipe run: Tidy new contacts" })).toBeVisible();
  const steps = page.getByRole("table", { name: "Steps" });
  await expect(page.getByText("2 of 2 steps ran.")).toBeVisible({ timeout: 90_000 });
  await expect(page.getByText("Succeeded", { exact: true }).first()).toBeVisible();
  await expect(steps.getByRole("row").filter({ hasText: "Title-case last names" })).toContainText("Succeeded");
  await expect(steps.getByRole("row").filter({ hasText: "Lead source Web" })).toContainText("Succeeded");
  await expect(page.getByText("All Contact records")).toBeVisible();
  await screen(page, "recipe-run");

  // A step's run says which recipe it belongs to, and leads back.
  await steps.getByRole("link", { name: "Open the run of step 2, Lead source Web" }).click();
  await expect(page).toHaveURL(/\/activity\/[0-9A-Z]{26}$/);
  await expect(page.getByText("Step 2 of 2 of recipe Tidy new contacts")).toBeVisible();
  await screen(page, "recipe-step-run");
  await page.getByRole("link", { name: "Tidy new contacts" }).click();
  await expect(page.getByRole("heading", { name: "Recipe run: Tidy new contacts" })).toBeVisible();

  // The list: the recipe, its steps in order, its id; the latest runs.
  await nav(page).getByRole("link", { name: "Recipes" }).click();
  const row = page.getByRole("table", { name: "Recipes" }).getByRole("row").filter({ hasText: "Tidy new contacts" });
  await expect(row).toContainText("Title-case last names");
  await expect(row).toContainText(recipeId);
  await expect(page.getByRole("table", { name: "Latest recipe runs" })).toContainText("Succeeded");
  await screen(page, "recipes");

  // The Activity Tracker filters by the automation triggers too.
  await nav(page).getByRole("link", { name: "Activity Tracker" }).click();
  const trigger = page.getByRole("combobox", { name: "Trigger" });
  await expect(trigger.getByRole("option", { name: "Salesforce Flow" })).toHaveCount(1);
  await expect(trigger.getByRole("option", { name: "HubSpot workflow" })).toHaveCount(1);
});

test("a step whose template now works on another object is refused beside that step", async ({ page }) => {
  await signedIn(page, steward, "salesforce");
  const api = await apiOf(page);
  await api.post<Template>("/templates", { ...NAMES, name: "Names again" });
  const source = await api.post<Template>("/templates", { ...SOURCE, name: "Source again" });

  await nav(page).getByRole("link", { name: "Recipes" }).click();
  await page.getByRole("link", { name: "New recipe" }).click();
  await page.getByRole("textbox", { name: "Name" }).fill("Two objects");
  await page.getByRole("combobox", { name: "Template for step 1" }).selectOption({ label: "Names again (Contact)" });
  await page.getByRole("button", { name: "Add step" }).click();
  await page.getByRole("combobox", { name: "Template for step 2" }).selectOption({ label: "Source again (Contact)" });
  // Meanwhile someone points the second template at Lead.
  await api.put(`/templates/${source.id}`, { ...SOURCE, name: "Source again", config: { ...SOURCE.config, object: "Lead" } }, source.version);
  await page.getByRole("button", { name: "Save recipe" }).click();

  const step2 = page.getByRole("region", { name: "Step 2" });
  const picker2 = step2.getByRole("combobox", { name: "Template for step 2" });
  await expect(picker2).toHaveAttribute("aria-invalid", "true");
  await expect(step2).toContainText("but the first step works on");
  // The templates are read again: the picker now says where that template works.
  await expect(picker2.getByRole("option", { name: "Source again (Lead)" })).toHaveCount(1);
  await expect(page.getByRole("combobox", { name: "Template for step 1" })).not.toHaveAttribute("aria-invalid", "true");
  await expect(page).toHaveURL(/\/automation\/recipes\/new$/);
  await screen(page, "recipe-invalid");
});

test("the owner activates CRM automation, copies the signing secret once, rotates it and deactivates it", async ({ page, context }) => {
  test.setTimeout(180_000);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: steward.url });
  await signedIn(page, steward, "salesforce");
  const api = await apiOf(page);
  const names = await api.post<Template>("/templates", { ...NAMES, name: "Names for Flows" });
  const recipe = await api.post<{ id: string }>("/recipes", { name: "New contact tidy-up", steps: [{ template_id: names.id, mode: "apply" }] });

  await nav(page).getByRole("link", { name: "CRM account" }).click();
  const card = page.getByRole("region", { name: "CRM automation (Flows / workflows)" });
  await expect(card).toContainText("Off");
  await expect(card).toContainText("External Credential");
  await screen(page, "settings-automation-off");

  await card.getByRole("button", { name: "Activate CRM automation" }).click();
  const shown = card.getByRole("alert").filter({ hasText: "Copy the signing secret now" });
  await expect(shown).toContainText("You will not see it again");
  await expect(shown).toContainText("SigningSecret");
  const secret = (await shown.locator("code").innerText()).trim();
  expect(secret.length).toBeGreaterThan(20);
  await shown.getByRole("button", { name: "Copy signing secret" }).click();
  await expect(shown.getByRole("button", { name: "Copied signing secret" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await expect(card).toContainText("Active");
  await expect(card).toContainText("/hooks/salesforce/recipes/{recipe_id}");
  await screen(page, "settings-automation-secret");
  await shown.getByRole("button", { name: "I have copied it" }).click();
  await expect(page.getByText(secret)).toHaveCount(0);

  // The Recipes screen gives each recipe its endpoint now.
  await nav(page).getByRole("link", { name: "Recipes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "CRM automation is on" })).toBeVisible();
  const row = page.getByRole("table", { name: "Recipes" }).getByRole("row").filter({ hasText: "New contact tidy-up" });
  await expect(row).toContainText(`/hooks/salesforce/recipes/${recipe.id}`);
  await screen(page, "recipes-automation-on");

  // Rotation: a new secret, once; the previous one still signs for an hour.
  await nav(page).getByRole("link", { name: "CRM account" }).click();
  await card.getByRole("button", { name: "Rotate signing secret…" }).click();
  const rotate = page.getByRole("dialog", { name: "Rotate the signing secret?" });
  await expect(rotate).toContainText("keeps working for an hour");
  await rotate.getByRole("button", { name: "Rotate now" }).click();
  await expect(rotate).toBeHidden();
  const again = card.getByRole("alert").filter({ hasText: "Copy the signing secret now" });
  const rotated = (await again.locator("code").innerText()).trim();
  expect(rotated).not.toBe(secret);
  await expect(card.getByRole("status").filter({ hasText: "The previous signing secret still works" })).toBeVisible();
  await screen(page, "settings-automation-rotated");
  await again.getByRole("button", { name: "I have copied it" }).click();

  await card.getByRole("button", { name: "Deactivate…" }).click();
  const off = page.getByRole("dialog", { name: "Deactivate CRM automation?" });
  await off.getByRole("button", { name: "Deactivate" }).click();
  await expect(off).toBeHidden();
  await expect(card.getByRole("button", { name: "Activate CRM automation" })).toBeVisible();
  await expect(card).toContainText("Off");
  await screen(page, "settings-automation-deactivated");
});
