// Grid Edit, as a revenue-ops person uses it: choose an object and columns, edit three cells
// (by mouse and by keyboard), apply, find the records changed in the CRM, revert the run and
// find the old values back. And a wrong value (letters in a number field) shown in its cell.
import { test, expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { screen, signedIn, startSteward, type Steward } from "./steward";

let steward: Steward;
test.beforeAll(async () => {
  steward = await startSteward();
});
test.afterAll(async () => {
  await steward?.stop();
});

type Props = Record<string, string | null>;

async function csrf(request: APIRequestContext): Promise<string> {
  const me = (await (await request.get(`${steward.url}/me`)).json()) as { csrf_token: string };
  return me.csrf_token;
}

/** The CRM's current values of the grid's first records, read back through POST /grid/records. */
async function readRecords(page: Page, object: string, columns: string[], limit = 10): Promise<{ id: string; properties: Props }[]> {
  const res = await page.request.post(`${steward.url}/grid/records`, {
    headers: { "X-CSRF-Token": await csrf(page.request) },
    data: { object, columns, limit },
  });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { records: { id: string; properties: Props }[] }).records;
}

async function waitForRun(page: Page, id: string): Promise<{ status: string; reverted_by?: string | null }> {
  let run: { status: string; reverted_by?: string | null } = { status: "" };
  await expect
    .poll(
      async () => {
        run = (await (await page.request.get(`${steward.url}/runs/${id}`)).json()) as typeof run;
        return run.status;
      },
      { timeout: 60_000, message: `run ${id} finishes` },
    )
    .toMatch(/^(succeeded|partial|failed|cancelled)$/);
  return run;
}

async function pick(page: Page, label: string, option: RegExp) {
  await page.getByRole("combobox", { name: label, exact: true }).or(page.getByRole("textbox", { name: label, exact: true })).first().click();
  await page.getByRole("option", { name: option }).click();
}

/** Row `n` (1-based) of the grid: its record id and its cells in column order. */
function row(grid: Locator, n: number) {
  const r = grid.getByRole("row").nth(n);
  return { row: r, id: r.getByRole("rowheader"), cell: (col: number) => r.getByRole("gridcell").nth(col) };
}

interface Case {
  object: string;
  objectOption: RegExp;
  columns: { name: string; label: string; option: RegExp }[];
  /** New values: a text for column 0 of row 1, a text for column 1 of row 2, a picklist value for column 2 of row 3. */
  values: (originals: { id: string; properties: Props }[]) => [string, string, string];
}

const CASES: Record<"hubspot" | "salesforce", Case> = {
  hubspot: {
    object: "deals",
    objectOption: /^Deals \(deals\)$/,
    columns: [
      { name: "dealname", label: "Deal Name", option: /^Deal Name \(dealname\)$/ },
      { name: "amount", label: "Amount", option: /^Amount \(amount\)$/ },
      { name: "dealstage", label: "Deal Stage", option: /^Deal Stage \(dealstage\)$/ },
    ],
    values: (o) => ["Grid e2e renamed deal", o[1]?.properties.amount === "4321" ? "4322" : "4321", o[2]?.properties.dealstage === "closedwon" ? "closedlost" : "closedwon"],
  },
  salesforce: {
    object: "Contact",
    objectOption: /^Contact \(Contact\)$/,
    columns: [
      { name: "FirstName", label: "First Name", option: /^First Name \(FirstName\)$/ },
      { name: "Title", label: "Title", option: /^Title$/ },
      { name: "LeadSource", label: "Lead Source", option: /^Lead Source \(LeadSource\)$/ },
    ],
    values: (o) => ["Gridtest", "VP Grid Testing", o[2]?.properties.LeadSource === "Partner Referral" ? "Purchased List" : "Partner Referral"],
  },
};

for (const crm of ["hubspot", "salesforce"] as const) {
  test(`${crm}: edit three cells, apply, see them in the CRM, revert`, async ({ page }) => {
    const c = CASES[crm];
    const columns = c.columns.map((x) => x.name);
    await signedIn(page, steward, crm);
    await page.goto(`${steward.url}/modules/grid`);
    await expect(page.getByRole("heading", { name: "What the grid shows" })).toBeVisible();
    await pick(page, "Object", c.objectOption);
    await expect(page.getByText("Choose the columns to show")).toBeVisible();
    await screen(page, `grid-empty-${crm}`);

    for (const col of c.columns) await pick(page, "Columns", col.option);
    await page.keyboard.press("Escape");
    const grid = page.getByRole("grid", { name: `Records of ${c.object}` });
    await expect(grid).toBeVisible();
    for (const col of c.columns) await expect(grid.getByRole("columnheader", { name: col.label, exact: true })).toBeVisible();
    await expect(page.getByText(/records? loaded/)).toBeVisible();
    await screen(page, `grid-records-${crm}`);

    const originals = await readRecords(page, c.object, columns, 3);
    const [name1, text2, pick3] = c.values(originals);
    const [r1, r2, r3] = [row(grid, 1), row(grid, 2), row(grid, 3)];
    const ids = originals.map((r) => r.id);
    await expect(r1.id).toHaveText(ids[0] ?? "");
    await expect(r3.id).toHaveText(ids[2] ?? "");

    // 1. By mouse: click the cell, type, Enter.
    await r1.cell(0).click();
    const input1 = page.getByRole("textbox", { name: `${c.columns[0]?.label} of record ${ids[0]}` });
    await input1.fill(name1);
    await input1.press("Enter");
    const was1 = originals[0]?.properties[columns[0] ?? ""] || "empty";
    await expect(r1.cell(0)).toHaveAccessibleName(`${name1} (edited: was ${was1})`);
    // Focus is back on the cell: the rest by keyboard alone.
    await expect(r1.cell(0)).toBeFocused();

    // 2. Arrow down, arrow right, Enter edits, Enter keeps.
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowRight");
    await expect(r2.cell(1)).toBeFocused();
    await page.keyboard.press("Enter");
    const input2 = page.getByRole("textbox", { name: `${c.columns[1]?.label} of record ${ids[1]}` });
    await expect(input2).toBeFocused();
    await input2.fill(text2);
    await page.keyboard.press("Enter");
    await expect(r2.cell(1)).toHaveAccessibleName(new RegExp(`edited: was`));

    // Escape cancels an edit.
    await page.keyboard.press("Enter");
    await page.keyboard.type("zzz");
    await page.keyboard.press("Escape");
    await expect(r2.cell(1)).toHaveAccessibleName(new RegExp(`^${text2} \\(edited`));

    // 3. A picklist: F2 opens the list of the field's options.
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("F2");
    const list3 = page.getByRole("combobox", { name: `${c.columns[2]?.label} of record ${ids[2]}` });
    await expect(list3).toBeFocused();
    await list3.selectOption(pick3);
    await list3.press("Enter");
    await expect(r3.cell(2)).toHaveAccessibleName(`${pick3} (edited: was ${originals[2]?.properties[columns[2] ?? ""] || "empty"})`);

    const edited = page.getByRole("region", { name: "Edited cells" });
    await expect(edited.getByText("3 cells edited")).toBeVisible();
    await expect(edited.getByRole("button", { name: `Undo ${c.columns[0]?.label} of record ${ids[0]}` })).toBeVisible();
    await screen(page, `grid-edited-${crm}`);

    // Apply (the module page's Review), confirm, and the run page opens.
    await page.getByRole("button", { name: "Apply", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Apply now" }).click();
    await expect(page).toHaveURL(/\/activity\/[^/?]+$/);
    const runId = new URL(page.url()).pathname.split("/").pop() ?? "";
    expect((await waitForRun(page, runId)).status).toBe("succeeded");
    await expect(page.getByText("Succeeded").first()).toBeVisible();
    await screen(page, `grid-applied-${crm}`);

    const after = await readRecords(page, c.object, columns, 3);
    expect(after.map((r) => r.id)).toEqual(ids);
    expect(after[0]?.properties[columns[0] ?? ""]).toBe(name1);
    expect(after[1]?.properties[columns[1] ?? ""]).toBe(text2);
    expect(after[2]?.properties[columns[2] ?? ""]).toBe(pick3);

    // Revert the run (the run page's Revert), and the old values are back.
    const revert = page.getByRole("button", { name: "Revert…" });
    if (await revert.isVisible()) {
      await revert.click();
      await page.getByRole("dialog").getByRole("button", { name: "Revert now" }).click();
    } else {
      const res = await page.request.post(`${steward.url}/runs/${runId}/revert`, { headers: { "X-CSRF-Token": await csrf(page.request) } });
      expect(res.status(), await res.text()).toBeLessThan(300);
    }
    let revertId = "";
    await expect
      .poll(async () => {
        revertId = ((await (await page.request.get(`${steward.url}/runs/${runId}`)).json()) as { reverted_by?: string | null }).reverted_by ?? "";
        return revertId;
      })
      .not.toBe("");
    expect((await waitForRun(page, revertId)).status).toBe("succeeded");
    const back = await readRecords(page, c.object, columns, 3);
    expect(back).toEqual(originals);
    await screen(page, `grid-reverted-${crm}`);
  });
}

test("hubspot: a wrong value is shown in its cell at once, and undone", async ({ page }) => {
  await signedIn(page, steward, "hubspot");
  await page.goto(`${steward.url}/modules/grid`);
  await pick(page, "Object", /^Deals \(deals\)$/);
  await pick(page, "Columns", /^Deal Name \(dealname\)$/);
  await pick(page, "Columns", /^Amount \(amount\)$/);
  await pick(page, "Columns", /^Close Date \(closedate\)$/);
  await page.keyboard.press("Escape");
  const grid = page.getByRole("grid", { name: "Records of deals" });
  const r = row(grid, 4);
  const id = (await r.id.textContent()) ?? "";

  await r.cell(1).click();
  const input = page.getByRole("textbox", { name: `Amount of record ${id}` });
  await input.fill("ten");
  await expect(input).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("alert").filter({ hasText: 'expected a number, got "ten"' })).toBeVisible();
  await screen(page, "grid-type-error-typing");
  await input.press("Enter");
  await expect(r.cell(1)).toHaveAccessibleName(/^ten \(edited: was .*; problem: expected a number, got "ten"\)$/);
  await expect(r.cell(1)).toHaveAttribute("aria-invalid", "true");

  // A bad date in a datetime field, through Tab from the amount cell.
  await r.cell(1).press("ArrowRight");
  await page.keyboard.press("Enter");
  const date = page.getByRole("textbox", { name: `Close Date of record ${id}` });
  await date.fill("2024-02-30T10:00:00Z");
  await expect(page.getByRole("alert").filter({ hasText: "expected a datetime" })).toBeVisible();
  await date.press("Tab");
  await expect(r.cell(2)).toHaveAttribute("aria-invalid", "true");

  const edited = page.getByRole("region", { name: "Edited cells" });
  await expect(edited.getByText("2 cells edited")).toBeVisible();
  await expect(edited.getByText("2 with problems to fix")).toBeVisible();
  await screen(page, "grid-type-error");

  await edited.getByRole("button", { name: `Undo Amount of record ${id}` }).click();
  await expect(edited.getByText("1 cell edited")).toBeVisible();
  await expect(r.cell(1)).not.toHaveAttribute("aria-invalid", "true");
  await edited.getByRole("button", { name: "Discard all" }).click();
  await expect(edited.getByText("No cells edited yet")).toBeVisible();
  await expect(r.cell(2)).not.toHaveAttribute("aria-invalid", "true");

  // A problem only the API finds, at /edits/1/value, is shown in edit 1's cell (not edit 0's).
  const other = row(grid, 2);
  const otherId = (await other.id.textContent()) ?? "";
  await other.cell(0).click();
  await page.getByRole("textbox", { name: `Deal Name of record ${otherId}` }).fill("Renamed by the grid");
  await page.keyboard.press("Enter");
  await r.cell(1).click();
  await page.getByRole("textbox", { name: `Amount of record ${id}` }).fill("999");
  await page.keyboard.press("Enter");
  await expect(r.cell(1)).not.toHaveAttribute("aria-invalid", "true");
  await page.route(`${steward.url}/runs`, (route) =>
    route.request().method() === "POST"
      ? route.fulfill({
          status: 400,
          contentType: "application/problem+json",
          body: JSON.stringify({
            type: "about:blank",
            title: "Invalid request",
            status: 400,
            detail: "1 problem",
            errors: [{ pointer: "/edits/1/value", detail: "the CRM refuses amounts under 1000 on this pipeline" }],
          }),
        })
      : route.fallback(),
  );
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await expect(r.cell(1)).toHaveAttribute("aria-invalid", "true");
  await expect(r.cell(1)).toHaveAccessibleName(/problem: the CRM refuses amounts under 1000 on this pipeline/);
  await expect(other.cell(0)).not.toHaveAttribute("aria-invalid", "true");
  await expect(edited.getByText("the CRM refuses amounts under 1000 on this pipeline")).toBeVisible();
  await screen(page, "grid-api-error");
  // Changing the value clears the problem it no longer has.
  await r.cell(1).click();
  await page.getByRole("textbox", { name: `Amount of record ${id}` }).fill("1500");
  await page.keyboard.press("Enter");
  await expect(r.cell(1)).not.toHaveAttribute("aria-invalid", "true");
  await page.unroute(`${steward.url}/runs`);
});
