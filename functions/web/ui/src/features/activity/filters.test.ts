import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filtersFromSearch, filtersToSearch, hasFilters, parseRunId, rangeProblem, toRunsQuery } from "./filters";

const ID = "01M8Y5BJYMBP1HCZZ6WX6C5ZNM";

describe("URL ↔ filters", () => {
  it("reads a report email's link as that run", () => {
    expect(filtersFromSearch(new URLSearchParams(`run=${ID}`))).toEqual({ run: ID });
  });

  it("round-trips every filter in a fixed order", () => {
    const f = { run: ID, module: "merge", member: "priya.shah@acme-sandbox.com", status: "partial", trigger: "schedule", from: "2026-11-01", to: "2026-11-30" } as const;
    const search = filtersToSearch(f);
    expect(search.toString()).toBe(`run=${ID}&module=merge&member=priya.shah%40acme-sandbox.com&status=partial&trigger=schedule&from=2026-11-01&to=2026-11-30`);
    expect(filtersFromSearch(search)).toEqual(f);
  });

  it("drops values the API would refuse instead of failing the page", () => {
    expect(filtersFromSearch(new URLSearchParams("module=crm&status=done&trigger=cron&from=yesterday&to=2026-13&member=%20"))).toEqual({});
    expect(hasFilters({})).toBe(false);
    expect(filtersToSearch({ member: "" }).toString()).toBe("");
  });

  it("finds the Run ID in a pasted link or with stray spaces", () => {
    expect(parseRunId(`  ${ID.toLowerCase()} `)).toBe(ID);
    expect(parseRunId(`https://steward.acme.com/activity/${ID}`)).toBe(ID);
    expect(parseRunId(`https://steward.acme.com/activity?run=${ID}`)).toBe(ID);
    expect(parseRunId("not-a-run")).toBe("not-a-run");
  });
});

describe("filters → GET /runs", () => {
  let tz: string | undefined;
  beforeAll(() => {
    tz = process.env.TZ;
    process.env.TZ = "America/New_York";
  });
  afterAll(() => {
    process.env.TZ = tz;
  });

  it("turns days into instants in the person's time zone, `to` inclusive", () => {
    expect(toRunsQuery({ run: ID, module: "bulk", from: "2026-12-01", to: "2026-12-02" })).toEqual({
      limit: 50,
      run_id: ID,
      module: "bulk",
      from: "2026-12-01T05:00:00.000Z",
      to: "2026-12-03T05:00:00.000Z",
    });
  });

  it("says when the range is backwards", () => {
    expect(rangeProblem({ from: "2026-12-02", to: "2026-12-01" })).toMatch(/after/);
    expect(rangeProblem({ from: "2026-12-01", to: "2026-12-01" })).toBeUndefined();
  });
});
