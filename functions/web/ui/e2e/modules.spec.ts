// The module page with the merge editor: build and save a template, preview it, the API's
// field errors beside their inputs, a stale save, a schedule from the frequency builder, the
// share link, and a read-only member (Preview, no Apply).
import { test, expect, type Browser, type Locator, type Page } from "@playwright/test";
import { OWNER, screen, signIn, signedIn, startSteward, type Steward } from "./steward";

// Fire times are written in the browser's locale: the tests read them as en-US writes dates.
test.use({ locale: "en-US" });

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

/**
 * `screen` from the top of the page: a full-page capture taken scrolled down draws the
 * fixed header and navigation part-way down the picture.
 */
const shot = screen;

/** A colleague from the sandbox CRM's users (GET /team/crm-users). */
const COLLEAGUE = { id: "9000002", name: "Priya Shah", email: "priya.shah@acme-sandbox.com" };

/** Picks `option` in the Mantine select (or multi-select) labelled `label` within `scope`. */
async function pick(page: Page, scope: Locator | Page, label: string, option: string | RegExp, search?: string) {
  const input = scope.getByRole("textbox", { name: label, exact: true }).or(scope.getByRole("combobox", { name: label, exact: true })).first();
  await input.click();
  if (search) await input.fill(search);
  await page.getByRole("option", { name: option }).first().click();
}

async function api(page: Page) {
  const me = (await (await page.request.get(`${steward.url}/me`)).json()) as { csrf_token: string };
  return {
    get: async <T>(path: string) => (await (await page.request.get(`${steward.url}${path}`)).json()) as T,
    post: (path: string, data: unknown) => page.request.post(`${steward.url}${path}`, { headers: { "X-CSRF-Token": me.csrf_token }, data }),
  };
}

interface Template {
  id: string;
  name: string;
  version: number;
  share_url: string;
  config: { object: string; rules: { name?: string; all: Record<string, unknown>[] }[]; master?: { rules: { rule: string }[] }; survivorship?: { fields?: Record<string, unknown> } };
}

/** Saves a merge template through the API (as another tab or colleague would). */
async function saveTemplate(page: Page, name: string): Promise<Template> {
  const a = await api(page);
  const res = await a.post("/templates", {
    module: "merge",
    name,
    config: { object: "contacts", rules: [{ name: "Same email", all: [{ field: "email", compare: "normalized", as: "email" }] }] },
  });
  expect(res.status()).toBe(201);
  return (await res.json()) as Template;
}

test("builds a merge template with the editor, saves it, finds it after a reload and previews it", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Merge Duplicates" }).click();
  await expect(page.getByRole("heading", { name: "Merge Duplicates", level: 2 })).toBeVisible();
  // A new template starts matching contacts by email: previewable as it is.
  const first = page.getByRole("group", { name: "Rule set 1, comparison 1" });
  await expect(first.getByText("Email (email)")).toBeVisible();
  await shot(page, "merge-new");

  await page.getByLabel("Name", { exact: true }).fill("Duplicate contacts");
  await page.getByLabel("Description", { exact: true }).fill("Same email; or same phone and a similar last name");
  // Rule set 2 (OR): same phone AND similar last name.
  await page.getByRole("button", { name: "Add a rule set (OR)" }).click();
  const phone = page.getByRole("group", { name: "Rule set 2, comparison 1" });
  await pick(page, phone, "Fields", "Phone Number (phone)");
  await pick(page, phone, "Read values as", "Phone number");
  await phone.getByLabel("Default region").fill("US");
  await page.getByRole("button", { name: "Add a comparison to rule set 2 (AND)" }).click();
  const name = page.getByRole("group", { name: "Rule set 2, comparison 2" });
  await pick(page, name, "Fields", "Last Name (lastname)");
  await pick(page, name, "Match when", /^Similar/);
  await pick(page, name, "Read values as", "Person's name");
  await name.getByLabel("Least score (0–1)").fill("0.85");
  // Master: the most recently modified first.
  await page.getByRole("button", { name: "Add a master rule" }).click();
  await page.getByRole("button", { name: "Move master rule 3 up" }).click();
  await page.getByRole("button", { name: "Move master rule 2 up" }).click();
  // Survivorship: the newest job title.
  await pick(page, page, "Add a rule for a field", "Job Title (jobtitle)");
  await expect(page.getByRole("group", { name: "Field rule for jobtitle" })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Not saved yet" })).toBeVisible();
  await shot(page, "merge-built");

  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Template saved")).toBeVisible();
  await expect(page).toHaveURL(/\/modules\/merge\?template=/);
  const id = new URL(page.url()).searchParams.get("template") ?? "";
  await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();

  // Exactly the config the editor showed.
  const saved = await (await api(page)).get<Template>(`/templates/${id}`);
  expect(saved.config).toEqual({
    object: "contacts",
    rules: [
      { name: "Same email", all: [{ field: "email", compare: "normalized", as: "email" }] },
      {
        name: "Rule 2",
        all: [
          { field: "phone", compare: "normalized", as: "phone", default_region: "US" },
          { field: "lastname", compare: "similar", as: "name", threshold: 0.85 },
        ],
      },
    ],
    master: { mode: "by_priority", rules: [{ rule: "last_modified" }, { rule: "oldest_created" }, { rule: "most_complete" }] },
    survivorship: { fields: { jobtitle: "newest" } },
  });

  // After a reload the template is in the picker and opens as saved.
  await page.reload();
  await expect(page.getByRole("combobox", { name: "Template", exact: true })).toHaveValue("Duplicate contacts");
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Duplicate contacts");
  await expect(page.getByRole("group", { name: "Rule set 2, comparison 2" }).getByLabel("Least score (0–1)")).toHaveValue("0.85");
  await page.getByRole("combobox", { name: "Template", exact: true }).click();
  await expect(page.getByRole("option", { name: "Duplicate contacts" })).toBeVisible();
  await page.keyboard.press("Escape");
  await shot(page, "merge-saved");

  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page).toHaveURL(/\/activity\/[^/?]+$/);
  const run = await (await api(page)).get<{ template_id: string; mode: string; module: string }>(`/runs/${page.url().split("/").pop() ?? ""}`);
  expect(run).toMatchObject({ template_id: id, mode: "preview", module: "merge" });
});

test("a field the CRM lacks gets the API's message beside that field", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  // The CRM's field list as cached before an admin deleted `fax`: the picker still offers it.
  await page.route("**/crm/objects/contacts/fields", async (route) => {
    const res = await route.fetch();
    const body = (await res.json()) as { fields: unknown[] };
    body.fields.push({ name: "fax", label: "Fax", type: "phone", options: [], unique: false, writable: true });
    await route.fulfill({ response: res, json: body });
  });
  await page.goto(`${steward.url}/modules/merge`);
  const first = page.getByRole("group", { name: "Rule set 1, comparison 1" });
  // Email, or the fax number (compared as one).
  await pick(page, first, "Fields", "Fax (fax)");
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Preview" }).click();
  const fields = first.getByRole("combobox", { name: "Fields", exact: true });
  await expect(fields).toHaveAttribute("aria-invalid", "true");
  await expect(first.getByText("contacts has no field `fax`")).toBeVisible();
  await expect(page).toHaveURL(/\/modules\/merge/);
  await shot(page, "merge-field-error");
});

test("a stale save says someone else changed the template and offers a reload", async ({ page, browser }) => {
  await signedIn(page, steward, "hubspot");
  const t = await saveTemplate(page, "Shared email rule");
  await page.goto(`${steward.url}/modules/merge?template=${t.id}`);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Shared email rule");

  // Someone else, in another browser, saves first.
  const other = await browser.newContext();
  const them = await other.newPage();
  await signedIn(them, steward, "hubspot");
  await them.goto(`${steward.url}/modules/merge?template=${t.id}`);
  await them.getByLabel("Name", { exact: true }).fill("Shared email rule (theirs)");
  await them.getByRole("button", { name: "Save", exact: true }).click();
  await expect(them.getByText("Template saved")).toBeVisible();
  await other.close();

  await page.getByLabel("Description", { exact: true }).fill("mine");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const stale = page.getByRole("alert").filter({ hasText: "Someone else changed this template" });
  await expect(stale).toBeVisible();
  await shot(page, "merge-stale-save");
  await stale.getByRole("button", { name: "Reload" }).click();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Shared email rule (theirs)");
  await expect(page.getByLabel("Description", { exact: true })).toHaveValue("");
  await expect(stale).toBeHidden();
});

test("a schedule built with the frequency builder: the next runs as it changes, saved once, then updated", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  const t = await saveTemplate(page, "Weekly email dedupe");
  await page.goto(`${steward.url}/modules/merge?template=${t.id}`);
  await page.getByRole("tab", { name: /When/ }).click();
  await page.getByText("Automate", { exact: true }).click();
  // The sandbox account has no integration user: automations would be skipped.
  await expect(page.getByText("No integration user is set")).toBeVisible();
  await expect(page.getByRole("link", { name: "Settings → Users" })).toBeVisible();
  const list = page.getByRole("list", { name: "Next fire times" });
  const fires = list.getByRole("listitem");
  // Every day at 09:00 to start with: five runs, each at 09:00 in the browser's zone.
  await expect(fires).toHaveCount(5);
  await pick(page, page, "Repeat", "Weekly");
  await page.getByRole("checkbox", { name: "Friday" }).check();
  await page.getByLabel("At", { exact: true }).fill("08:30");
  await pick(page, page, "Time zone", "Europe/Berlin", "Europe/Berl");
  await expect(page.getByText("Every Monday and Friday at 08:30")).toBeVisible();
  await expect(page.getByText("cron(30 8 ? * MON,FRI *)")).toBeVisible();
  await expect(page.getByText(/appear once the schedule is saved/)).toHaveCount(0);
  // The API's next five, in Berlin time, as this browser's locale (en-US) writes them.
  await expect(page.getByText("Next five runs, in Europe/Berlin time")).toBeVisible();
  // The last answer stays, dimmed and busy, until the new one is in.
  await expect(list).toHaveAttribute("aria-busy", "false");
  await expect(fires).toHaveText(Array.from({ length: 5 }, () => /^(Monday|Friday), .* at 8:30\sAM$/));
  const { next } = await (await api(page)).get<{ next: string[] }>(`/schedules/preview?expression=${encodeURIComponent("cron(30 8 ? * MON,FRI *)")}&timezone=Europe/Berlin`);
  await expect(list.locator("time").first()).toHaveAttribute("datetime", next[0] ?? "");
  await shot(page, "merge-automate");

  // Another zone: the same 08:30 wall-clock times, now in New York.
  await pick(page, page, "Time zone", "America/New_York", "America/New_Y");
  await expect(page.getByText("Next five runs, in America/New_York time")).toBeVisible();
  const ny = await (await api(page)).get<{ next: string[] }>(`/schedules/preview?expression=${encodeURIComponent("cron(30 8 ? * MON,FRI *)")}&timezone=America/New_York`);
  await expect(list).toHaveAttribute("aria-busy", "false");
  await expect(list.locator("time").first()).toHaveAttribute("datetime", ny.next[0] ?? "");
  await pick(page, page, "Time zone", "Europe/Berlin", "Europe/Berl");
  await expect(page.getByText("Next five runs, in Europe/Berlin time")).toBeVisible();

  await page.getByRole("button", { name: "Save schedule" }).click();
  const saved = page.getByRole("alert", { name: "Schedule saved", exact: true });
  await expect(saved).toBeVisible();
  await expect(saved.getByRole("link", { name: "Settings → Schedules" })).toHaveAttribute("href", "/settings/schedules");
  await expect(fires).toHaveCount(5);
  // Nothing changed since: no second save.
  const update = page.getByRole("button", { name: "Update schedule" });
  await expect(update).toBeDisabled();
  await expect(page.getByRole("button", { name: "Save schedule" })).toHaveCount(0);
  await shot(page, "merge-schedule-saved");

  type Listed = { id: string; template_id: string; expression: string; timezone: string; mode: string; version: number };
  const listed = async () => (await (await api(page)).get<{ schedules: Listed[] }>("/schedules")).schedules.filter((s) => s.template_id === t.id);
  const [first] = await listed();
  expect(await listed()).toEqual([expect.objectContaining({ expression: "cron(30 8 ? * MON,FRI *)", timezone: "Europe/Berlin", mode: "preview" })]);

  // A change makes it an update of that schedule, not a second one.
  await page.getByRole("checkbox", { name: "Monday" }).uncheck();
  await expect(page.getByRole("alert", { name: "Schedule saved, with changes not saved yet" })).toBeVisible();
  await expect(saved).toHaveCount(0);
  await expect(update).toBeEnabled();
  await update.click();
  await expect(saved).toBeVisible();
  await expect(page.getByText("Schedule updated")).toBeVisible();
  await expect(update).toBeDisabled();
  await expect(list).toHaveAttribute("aria-busy", "false");
  await expect(fires).toHaveText(Array.from({ length: 5 }, () => /^Friday, .* at 8:30\sAM$/));
  const after = await listed();
  expect(after).toHaveLength(1);
  expect(after[0]).toMatchObject({ id: first?.id, expression: "cron(30 8 ? * FRI *)", timezone: "Europe/Berlin" });
  expect(after[0]?.version).toBeGreaterThan(first?.version ?? Infinity);
});

test("a time zone the API does not know gets the API's message at the time zone", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  // A zone this browser lists but the server's time-zone data lacks (as after a tz update).
  await page.route("**/schedules/preview?*", async (route) => {
    const url = new URL(route.request().url());
    if (url.searchParams.get("timezone") === "Asia/Tokyo") url.searchParams.set("timezone", "Mars/Olympus");
    await route.continue({ url: url.toString() });
  });
  await page.goto(`${steward.url}/modules/merge`);
  await page.getByRole("tab", { name: /When/ }).click();
  await page.getByText("Automate", { exact: true }).click();
  await pick(page, page, "Time zone", "Asia/Tokyo", "Asia/Toky");
  const zone = page.getByRole("textbox", { name: "Time zone", exact: true }).or(page.getByRole("combobox", { name: "Time zone", exact: true })).first();
  await expect(zone).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText('unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/London)')).toBeVisible();
  await expect(page.getByText("Correct the frequency or time zone above to see when it runs.")).toBeVisible();
  await shot(page, "merge-automate-zone-refused");
  // Back to a zone it knows: the message goes, the runs come.
  await pick(page, page, "Time zone", "Europe/Berlin", "Europe/Berl");
  await expect(zone).not.toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("list", { name: "Next fire times" }).getByRole("listitem")).toHaveCount(5);
});

/** Invites the colleague with read access to merge only (once). */
async function inviteReadOnlyColleague(page: Page) {
  const res = await (await api(page)).post("/team/invitations", { user_id: COLLEAGUE.id, role: "user", permissions: { merge: "read" } });
  expect([201, 200, 409]).toContain(res.status());
}

async function signedOutContext(browser: Browser) {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

test("the share link: the owner copies it; signed out, it leads through sign-in to the template", async ({ page, context, browser }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: steward.url });
  await signedIn(page, steward, "hubspot");
  await inviteReadOnlyColleague(page);
  const t = await saveTemplate(page, "Shared with Priya");
  await page.goto(`${steward.url}/modules/merge?template=${t.id}`);
  await page.getByRole("button", { name: "Copy share link" }).click();
  await expect(page.getByText("Share link copied")).toBeVisible();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toBe(t.share_url);

  const other = await signedOutContext(browser);
  await other.page.goto(link);
  await expect(other.page).toHaveURL(/\/signin\?return_to=/);
  await signIn(other.page, "hubspot", COLLEAGUE);
  await expect(other.page).toHaveURL(link);
  await expect(other.page.getByLabel("Name", { exact: true })).toHaveValue("Shared with Priya");
  await shot(other.page, "merge-share-link-opened");
  await other.context.close();
});

test("the owner copies the share link to the clipboard", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: steward.url });
  await signedIn(page, steward, "hubspot");
  const t = await saveTemplate(page, "Link me");
  await page.goto(`${steward.url}/modules/merge?template=${t.id}`);
  await page.getByRole("button", { name: "Copy share link" }).click();
  await expect(page.getByText("Share link copied")).toBeVisible();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toBe(t.share_url);
  expect(new URL(link).pathname + new URL(link).search).toBe(`/modules/merge?template=${t.id}`);
  await shot(page, "merge-share-link-copied");
});

test("a read-only member opens a shared template: Preview, but no Apply and no Save", async ({ page, browser }) => {
  await signedIn(page, steward, "hubspot");
  await inviteReadOnlyColleague(page);
  const t = await saveTemplate(page, "Read-only look");

  const other = await signedOutContext(browser);
  await signedIn(other.page, steward, "hubspot", COLLEAGUE);
  const p = other.page;
  await p.goto(t.share_url);
  await expect(p.getByLabel("Name", { exact: true })).toHaveValue("Read-only look");
  await expect(p.getByText("Read-only", { exact: true })).toBeVisible();
  await expect(p.getByRole("button", { name: "Preview" })).toBeEnabled();
  await expect(p.getByRole("button", { name: "Apply" })).toHaveCount(0);
  await expect(p.getByRole("button", { name: "Save", exact: true })).toHaveCount(0);
  await expect(p.getByText(/Applying needs write access to Merge Duplicates/)).toBeVisible();
  await shot(p, "merge-read-only");
  // Other modules are not theirs at all.
  await p.goto(`${steward.url}/modules/bulk`);
  await expect(p.getByText("You do not have access to this module")).toBeVisible();
  await shot(p, "module-no-access");
  // Preview works for them.
  await p.goto(t.share_url);
  await p.getByRole("button", { name: "Preview" }).click();
  await expect(p).toHaveURL(/\/activity\/[^/?]+$/);
  await other.context.close();
  expect(OWNER.name).not.toBe(COLLEAGUE.name);
});
