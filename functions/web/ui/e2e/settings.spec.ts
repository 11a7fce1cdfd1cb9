// Settings as an account's owner and a colleague use them: the team, an invitation from the
// CRM's users (with its welcome email), access that takes effect, schedules made through the
// API shown, paused, resumed and edited, the integration user, and the CRM account.
import { test, expect, type Page } from "@playwright/test";
import { configs } from "../src/api/every-operation";
import { OWNER, screen, signIn, signedIn, startSteward, type Steward } from "./steward";

const COLLEAGUE = { name: "Priya Shah", email: "priya.shah@acme-sandbox.com" };

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

/** Calls the API as the page's signed-in person, with the session's CSRF token. */
async function apiAs(page: Page) {
  const me = (await (await page.request.get(`${steward.url}/me`)).json()) as { csrf_token: string };
  const headers = { "X-CSRF-Token": me.csrf_token };
  return {
    async post<T>(path: string, data: unknown): Promise<T> {
      const r = await page.request.post(`${steward.url}${path}`, { data, headers });
      expect(r.ok(), `POST ${path}: ${await r.text()}`).toBe(true);
      return (await r.json()) as T;
    },
    async put<T>(path: string, data: unknown): Promise<T> {
      const r = await page.request.put(`${steward.url}${path}`, { data, headers });
      expect(r.ok(), `PUT ${path}: ${await r.text()}`).toBe(true);
      return (await r.json()) as T;
    },
  };
}

/** "Connected" (a badge) then "as <email>". */
const connectedAs = (email: string) => new RegExp(`Connected\\s*as ${email.replace(/[.]/g, "\\.")}`);

const row = (page: Page, name: string | RegExp) => page.getByRole("table", { name: "Team members" }).getByRole("row").filter({ hasText: name });

test("the owner invites a colleague, who sees exactly the access given; schedules and the integration user", async ({ page, browser }) => {
  test.setTimeout(300_000); // a dozen screens, each checked by axe
  // The owner's team.
  await signedIn(page, steward, "hubspot");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
  await expect(page).toHaveURL(/\/settings\/users$/);
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  const owner = row(page, OWNER.name);
  await expect(owner).toContainText("Owner");
  await expect(owner).toContainText(OWNER.email);
  await expect(owner).toContainText("Active");
  await expect(page.getByRole("region", { name: "Integration user" })).toContainText("Not set");
  await screen(page, "settings-users-owner");

  // Invite Team: from the CRM's user list, read on Merge Duplicates only.
  await page.getByRole("button", { name: "Invite Team" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite a colleague" });
  await expect(dialog.getByRole("radio", { name: /Daniel Okafor/ })).toBeVisible();
  await expect(dialog.getByRole("radio", { name: new RegExp(OWNER.name) })).toHaveCount(0);
  await dialog.getByRole("textbox", { name: "Search HubSpot users" }).fill("priya");
  await expect(dialog.getByRole("radio", { name: /Daniel Okafor/ })).toHaveCount(0);
  await dialog.getByRole("radio", { name: new RegExp(COLLEAGUE.name) }).check();
  await dialog.getByRole("combobox", { name: "Merge Duplicates" }).selectOption("read");
  await expect(dialog).toContainText(`will get a welcome email at ${COLLEAGUE.email}`);
  await screen(page, "settings-users-invite");
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(dialog).toBeHidden();
  await expect(row(page, COLLEAGUE.name)).toContainText("Invited");
  const welcome = steward.outbox().find((m) => m.text.includes(COLLEAGUE.email));
  expect(welcome, "the welcome email in the outbox").toBeTruthy();
  await screen(page, "settings-users-invited");

  // The colleague signs in (their own browser) and sees Merge Duplicates read-only, nothing else.
  const theirs = await browser.newContext();
  const colleague = await theirs.newPage();
  await colleague.goto(`${steward.url}/signin`);
  await signIn(colleague, "hubspot", COLLEAGUE);
  const nav = colleague.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: /Merge Duplicates/ })).toContainText("read-only");
  for (const hidden of ["Bulk Operations", "Transform Data", "Grid Edit", "Data Validation"]) {
    await expect(nav.getByRole("link", { name: new RegExp(hidden) })).toHaveCount(0);
  }
  await colleague.goto(`${steward.url}/settings/users`);
  await expect(colleague.getByText("only owners and admins can change it")).toBeVisible();
  await expect(colleague.getByRole("button", { name: "Invite Team" })).toHaveCount(0);
  await expect(colleague.getByRole("combobox", { name: /access for/ })).toHaveCount(0);
  await screen(colleague, "settings-users-colleague");

  // The owner gives write on Bulk Operations; it takes effect for the colleague.
  await page.reload();
  const priya = row(page, COLLEAGUE.name);
  await expect(priya).toContainText("Active");
  await priya.getByRole("combobox", { name: `Bulk Operations access for ${COLLEAGUE.name}` }).selectOption("write");
  await screen(page, "settings-users-editing");
  await priya.getByRole("button", { name: "Save" }).click();
  await expect(priya.getByRole("button", { name: "Save" })).toHaveCount(0);
  await expect(priya.getByRole("combobox", { name: `Bulk Operations access for ${COLLEAGUE.name}` })).toHaveValue("write");
  await colleague.reload();
  await expect(nav.getByRole("link", { name: /Bulk Operations/ })).toBeVisible();
  await expect(nav.getByRole("link", { name: /Bulk Operations/ })).not.toContainText("read-only");
  await expect(nav.getByRole("link", { name: /Merge Duplicates/ })).toContainText("read-only");

  // Transfer and remove are confirmed, each saying what happens (cancelled here).
  await priya.getByRole("button", { name: `Actions for ${COLLEAGUE.name}` }).click();
  await page.getByRole("menuitem", { name: "Transfer ownership…" }).click();
  const transfer = page.getByRole("dialog", { name: "Transfer ownership" });
  await expect(transfer.getByRole("button", { name: `Transfer ownership to ${COLLEAGUE.name}` })).toBeVisible();
  await expect(transfer).toContainText("You stop being the owner");
  await screen(page, "settings-users-transfer");
  await transfer.getByRole("button", { name: "Cancel" }).click();
  await priya.getByRole("button", { name: `Actions for ${COLLEAGUE.name}` }).click();
  await page.getByRole("menuitem", { name: "Remove from team…" }).click();
  const remove = page.getByRole("dialog", { name: "Remove from the team" });
  await remove.getByRole("checkbox", { name: "Also purge their personal data" }).check();
  await expect(remove.getByRole("button", { name: `Remove and purge ${COLLEAGUE.name}` })).toBeVisible();
  await expect(remove).toContainText("deletes their stored CRM connection");
  await screen(page, "settings-users-remove");
  await remove.getByRole("button", { name: "Cancel" }).click();
  await expect(row(page, COLLEAGUE.name)).toContainText("Active");

  // A schedule made through the API, as a module page would make it.
  const api = await apiAs(page);
  const template = await api.post<{ id: string; name: string }>("/templates", {
    module: "merge",
    name: "Weekday duplicate check",
    description: null,
    config: configs.merge,
  });
  const schedule = await api.post<{ id: string }>("/schedules", {
    template_id: template.id,
    mode: "preview",
    expression: "cron(0 9 ? * MON-FRI *)",
    timezone: "Europe/Berlin",
    notify: { recipients: ["ops@acme-sandbox.com"] },
  });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Schedules" }).click();
  const schedules = page.getByRole("table", { name: "Schedules" });
  const line = schedules.getByRole("row").filter({ hasText: template.name });
  await expect(line).toContainText("Every weekday (Monday to Friday) at 09:00 (Europe/Berlin)");
  await expect(line).toContainText("Active");
  await expect(line.getByRole("link", { name: template.name })).toHaveAttribute("href", `/modules/merge?template=${template.id}`);
  await expect(page.getByText("Every schedule is skipped until an integration user is connected")).toBeVisible();
  await screen(page, "settings-schedules");

  await line.getByRole("button", { name: `Pause ${template.name}` }).click();
  await expect(line).toContainText("Paused");
  await expect(line).toContainText("None while paused");
  await screen(page, "settings-schedules-paused");
  await line.getByRole("button", { name: `Resume ${template.name}` }).click();
  await expect(line).toContainText("Active");

  // Edit: the expression read back in words; a save after someone else's is refused, then works.
  await line.getByRole("button", { name: `Edit ${template.name}` }).click();
  const edit = page.getByRole("dialog", { name: `Edit schedule: ${template.name}` });
  await edit.getByRole("textbox", { name: "Expression" }).fill("cron(30 7 ? * MON *)");
  await expect(edit).toContainText("Every Monday at 07:30 (Europe/Berlin)");
  await screen(page, "settings-schedules-edit");
  await api.put(`/schedules/${schedule.id}`, { template_id: template.id, mode: "preview", expression: "rate(1 day)", timezone: "Europe/Berlin" });
  await edit.getByRole("button", { name: "Save schedule" }).click();
  await expect(edit.getByRole("alert").filter({ hasText: "Someone else changed this schedule" })).toBeVisible();
  await expect(edit.getByRole("textbox", { name: "Expression" })).toHaveValue("rate(1 day)");
  await screen(page, "settings-schedules-stale");
  await edit.getByRole("textbox", { name: "Expression" }).fill("cron(0 9 ? * MON-FRI *)");
  await edit.getByRole("button", { name: "Save schedule" }).click();
  await expect(edit).toBeHidden();
  await expect(line).toContainText("Every weekday (Monday to Friday) at 09:00 (Europe/Berlin)");

  // An expression the API refuses: its message next to the field.
  await line.getByRole("button", { name: `Edit ${template.name}` }).click();
  await edit.getByRole("textbox", { name: "Expression" }).fill("cron(0 25 * * ? *)");
  await edit.getByRole("button", { name: "Save schedule" }).click();
  await expect(edit.getByRole("textbox", { name: "Expression" })).toHaveAttribute("aria-invalid", "true");
  await screen(page, "settings-schedules-invalid");
  await edit.getByRole("button", { name: "Cancel" }).click();

  // The integration user: a member's connection (the owner's), shown on Users and CRM account.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
  const integration = page.getByRole("region", { name: "Integration user" });
  await integration.getByRole("combobox", { name: "Or use a member's connection" }).selectOption({ label: `${OWNER.name} (${OWNER.email})` });
  await integration.getByRole("button", { name: "Use this member" }).click();
  await expect(integration).toContainText(connectedAs(OWNER.email));
  await screen(page, "settings-users-integration");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "CRM account" }).click();
  await expect(page.getByRole("region", { name: "Account" })).toContainText("HubSpot portal ID");
  await expect(page.getByRole("region", { name: "Integration user" })).toContainText(connectedAs(OWNER.email));
  const automation = page.getByRole("region", { name: "CRM automation (Flows / workflows)" });
  await expect(automation).toContainText("Steward: Run recipe");
  await expect(automation.getByRole("button", { name: "Activate CRM automation" })).toBeVisible();
  await screen(page, "settings-accounts-hubspot");
  await theirs.close();
});

test("connecting the integration user through the CRM comes back to Users with a success message", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  await page.goto(`${steward.url}/settings/users`);
  await page.getByRole("region", { name: "Integration user" }).getByRole("link", { name: /Connect/ }).click();
  await page.getByRole("button", { name: new RegExp(`Log in as ${OWNER.name}`) }).click();
  await expect(page).toHaveURL(/\/settings\/users\?integration=connected$/);
  await expect(page.getByRole("alert").filter({ hasText: "Integration user connected" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Integration user" })).toContainText(connectedAs(OWNER.email));
  await screen(page, "settings-users-integration-connected");
});

test("salesforce: the owner's team, an empty schedule list and the CRM account", async ({ page }) => {
  await signedIn(page, steward, "salesforce");
  await page.goto(`${steward.url}/settings/users`);
  const owner = row(page, OWNER.name);
  await expect(owner).toContainText("Owner");
  await expect(page.getByRole("button", { name: "Invite Team" })).toBeVisible();
  await screen(page, "settings-users-salesforce");

  await page.getByRole("button", { name: "Invite Team" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite a colleague" });
  await expect(dialog.getByRole("radio", { name: new RegExp(COLLEAGUE.name) })).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Schedules" }).click();
  await expect(page.getByRole("heading", { name: "No schedules yet" })).toBeVisible();
  await expect(page.getByText("When → Automate")).toBeVisible();
  await screen(page, "settings-schedules-empty");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "CRM account" }).click();
  await expect(page.getByRole("region", { name: "Account" })).toContainText("Salesforce org ID");
  await expect(page.getByRole("region", { name: "CRM automation (Flows / workflows)" })).toContainText("Flows");
  await screen(page, "settings-accounts-salesforce");
});
