// The demo across restarts, as someone trying Steward meets it: still signed in after
// `steward serve --demo` starts again on its data dir; and when the CRM no longer accepts
// the connection Steward holds, a notice on every screen leads back in with one button.
import { test, expect, type Page } from "@playwright/test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { OWNER, screen, signedIn, startSteward, type Steward } from "./steward";

let steward: Steward | undefined;
test.afterAll(async () => {
  await steward?.stop();
});

const notice = (page: Page) => page.getByRole("alert").filter({ hasText: "Sign in to HubSpot again" });

test("a restart keeps the member signed in; a connection the CRM refuses offers Sign in again", async ({ page }) => {
  steward = await startSteward();
  const dataDir = steward.dataDir;
  await signedIn(page, steward, "hubspot");
  await steward.stop();

  // Started again on the same data dir (on another port): no sign-in, the CRM answers.
  steward = await startSteward({ dataDir });
  await page.goto(`${steward.url}/settings/users`);
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await page.getByRole("button", { name: "Invite Team" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite a colleague" });
  await expect(dialog.getByRole("radio").first()).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(notice(page)).toHaveCount(0);
  await steward.stop();

  // The sandbox CRM forgets every token it issued (its state removed while stopped).
  rmSync(join(dataDir, "sandbox.json"));
  steward = await startSteward({ dataDir });
  await page.goto(`${steward.url}/settings/users`);
  await page.getByRole("button", { name: "Invite Team" }).click();
  const refused = page.getByRole("dialog", { name: "Invite a colleague" });
  await refused.getByRole("button", { name: "Cancel" }).click();
  await expect(refused).toBeHidden();
  await expect(notice(page)).toBeVisible();
  await expect(notice(page)).toContainText("sign in again");
  await screen(page, "sign-in-again");
  await notice(page).getByRole("link", { name: "Sign in again" }).click();
  await page.getByRole("button", { name: new RegExp(`Log in as ${OWNER.name}`) }).click();
  await expect(page).toHaveURL(/\/settings\/users$/);
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await expect(notice(page)).toHaveCount(0);
  await page.getByRole("button", { name: "Invite Team" }).click();
  await expect(page.getByRole("dialog", { name: "Invite a colleague" }).getByRole("radio").first()).toBeVisible();
});
