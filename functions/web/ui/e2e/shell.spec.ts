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
