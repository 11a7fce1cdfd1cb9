// Sign-in and the shell, with each CRM.
import { test, expect } from "@playwright/test";
import { screen, signIn, startSteward, type Steward } from "./steward";

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

for (const crm of ["hubspot", "salesforce"] as const) {
  test(`signs in with ${crm} and shows the modules`, async ({ page }) => {
    await page.goto(`${steward.url}/`);
    await expect(page).toHaveURL(/\/signin$/);
    await screen(page, `signin-${crm}`);
    await signIn(page, crm);
    await expect(page).toHaveURL(`${steward.url}/`);
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const name of ["Merge Duplicates", "Bulk Operations", "Transform Data", "Grid Edit", "Data Validation", "Activity Tracker", "Users", "Schedules"]) {
      await expect(nav.getByRole("link", { name })).toBeVisible();
    }
    await screen(page, `home-${crm}`);
  });
}

test("the main flow works by keyboard alone: a module, Preview, the run page", async ({ page }) => {
  await page.goto(`${steward.url}/signin`);
  await signIn(page, "hubspot");
  // Tab until the focus is on a link or button with this name; fail after 60 stops.
  const tabTo = async (name: string) => {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => (document.activeElement?.textContent ?? "").trim());
      if (focused === name) return;
    }
    throw new Error(`Tab never reached "${name}"`);
  };
  await tabTo("Transform Data");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/modules\/transform$/);
  await expect(page.getByRole("heading", { name: "Transform Data" })).toBeVisible();
  await tabTo("Preview");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/activity\/[0-9A-Z]{26}$/);
  await expect(page.getByText(/preview of contacts/i).first()).toBeVisible();
  await screen(page, "keyboard-run-page");
});
