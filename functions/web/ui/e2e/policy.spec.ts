// The account's policy on what leaves it, as an owner sets it and the team meets it: the
// editor on Settings → CRM account (read-only for a colleague), a report recipient outside
// the allowed domains and a too-frequent schedule refused at their fields in the Review
// step, and the run page listing whom a report went to.
import { test, expect, type Locator, type Page } from "@playwright/test";
import { configs } from "../src/api/every-operation";
import { OWNER, screen, signIn, signedIn, startSteward, type Steward } from "./steward";

test.use({ locale: "en-US" });

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
    async get<T>(path: string): Promise<T> {
      const r = await page.request.get(`${steward.url}${path}`);
      expect(r.ok(), `GET ${path}: ${await r.text()}`).toBe(true);
      return (await r.json()) as T;
    },
    async post<T>(path: string, data: unknown): Promise<T> {
      const r = await page.request.post(`${steward.url}${path}`, { data, headers });
      expect(r.ok(), `POST ${path}: ${await r.text()}`).toBe(true);
      return (await r.json()) as T;
    },
  };
}

/** The Mantine tags input labelled `label` (a textbox or a combobox, as Mantine renders it). */
const tags = (scope: Page | Locator, label: string) => scope.getByRole("textbox", { name: label, exact: true }).or(scope.getByRole("combobox", { name: label, exact: true })).first();

/** Picks `option` in the Mantine select labelled `label`. */
async function pick(page: Page, label: string, option: string) {
  await page.getByRole("textbox", { name: label, exact: true }).or(page.getByRole("combobox", { name: label, exact: true })).first().click();
  await page.getByRole("option", { name: option }).first().click();
}

test("owners and admins set where reports may go and how often schedules run; the team meets it where it types", async ({ page, browser }) => {
  test.setTimeout(300_000);
  await signedIn(page, steward, "hubspot");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "CRM account" }).click();
  const card = page.getByRole("region", { name: "Reports and schedules policy" });
  const domains = tags(card, "Allowed report domains");
  const least = card.getByRole("textbox", { name: "Least time between scheduled runs" });
  await expect(least).toHaveValue("15 minutes");
  await expect(card.getByRole("button", { name: "Save policy" })).toBeDisabled();
  await screen(page, "settings-policy");

  // A domain the API cannot take is named at the field; nothing is saved.
  await domains.fill("example.com");
  await domains.press("Enter");
  await domains.fill("not_a.domain");
  await domains.press("Enter");
  await card.getByRole("button", { name: "Save policy" }).click();
  await expect(card.getByText("`not_a.domain` has an invalid domain")).toBeVisible();
  await screen(page, "settings-policy-invalid");

  // Reports only to example.com (Backspace takes the last domain off); schedules at most
  // every 30 minutes.
  await domains.press("Backspace");
  await least.fill("30");
  await card.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByText(/^Policy saved\./)).toBeVisible();
  await expect(card).toContainText(`by ${OWNER.email}`);
  await expect(card.getByRole("button", { name: "Save policy" })).toBeDisabled();
  await screen(page, "settings-policy-saved");
  // As saved, after a reload.
  await page.reload();
  await expect(least).toHaveValue("30 minutes");
  await expect(card.getByText("example.com", { exact: true })).toBeVisible();
  await screen(page, "settings-policy-set");
  const api = await apiAs(page);
  expect(await api.get("/account/policy")).toMatchObject({ allowed_recipient_domains: ["example.com"], min_schedule_interval_minutes: 30 });

  // The Review step: the allowed domains under Recipients; one outside them refused at the field.
  const template = await api.post<{ id: string }>("/templates", { module: "transform", name: "Phone clean-up", config: configs.transform });
  await page.goto(`${steward.url}/modules/transform?template=${template.id}`);
  await page.getByRole("tab", { name: /Notify/ }).click();
  await expect(page.getByText(/Your admins allow reports only to addresses at example\.com/)).toBeVisible();
  const recipients = tags(page, "Recipients");
  await recipients.fill("ops@example.com");
  await recipients.press("Enter");
  await recipients.fill("me@gmail.com");
  await recipients.press("Enter");
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByText(/`me@gmail\.com` is outside the domains this account's owner or admins allow reports to go to: example\.com/)).toBeVisible();
  await expect(page.getByRole("tab", { name: /Notify/ })).toBeVisible();
  expect((await api.get<{ runs: unknown[] }>("/runs")).runs).toHaveLength(0);
  await screen(page, "review-notify-refused");

  // The When tab: every 5 minutes is refused at the field as the frequency is built.
  await page.getByRole("tab", { name: /When/ }).click();
  await page.getByText("Automate", { exact: true }).click();
  await expect(page.getByText("Schedules in this account run at most every 30 minutes")).toBeVisible();
  await pick(page, "Repeat", "Every few minutes, hours or days");
  await page.getByRole("textbox", { name: "Every", exact: true }).fill("5");
  await pick(page, "Unit", "minutes");
  await expect(page.getByText(/fires every 5 minutes at its closest; this account's schedules may fire at most every 30 minutes/)).toBeVisible();
  await screen(page, "review-when-refused");

  // A report to an allowed address: the run page lists whom it went to, when, and how.
  const run = await api.post<{ id: string }>("/runs", {
    module: "transform",
    mode: "preview",
    config: configs.transform,
    notify: { recipients: ["ops@example.com", "lead@eu.example.com"], subject: "Phones, as previewed" },
  });
  await page.goto(`${steward.url}/activity/${run.id}`);
  const report = page.getByRole("region", { name: "Report email" });
  await expect(report.getByText(/with the CSV attached/)).toBeVisible({ timeout: 60_000 });
  const sentTo = report.getByRole("list", { name: "Sent to" });
  await expect(sentTo.getByRole("listitem")).toHaveText(["ops@example.com", "lead@eu.example.com"]);
  await expect(report).toContainText("Subject “Phones, as previewed”");
  await screen(page, "run-report-sent");

  // A colleague reads the policy; only owners and admins change it.
  const crmUsers = await api.get<{ id: string; email: string }[]>("/team/crm-users");
  const priya = crmUsers.find((u) => u.email === COLLEAGUE.email);
  expect(priya, "the colleague is a CRM user").toBeTruthy();
  await api.post("/team/invitations", { user_id: priya?.id, role: "user" });
  const theirs = await browser.newContext();
  const colleague = await theirs.newPage();
  await colleague.goto(`${steward.url}/signin`);
  await signIn(colleague, "hubspot", COLLEAGUE);
  await colleague.goto(`${steward.url}/settings/accounts`);
  const readOnly = colleague.getByRole("region", { name: "Reports and schedules policy" });
  await expect(readOnly).toContainText("Run reports can be emailed only to addresses at example.com (subdomains included).");
  await expect(readOnly).toContainText("A schedule runs at most every 30 minutes.");
  await expect(readOnly).toContainText("Only the owner or an admin can change this.");
  await expect(readOnly.getByRole("button", { name: "Save policy" })).toHaveCount(0);
  await screen(colleague, "settings-policy-colleague");
  await theirs.close();
});
