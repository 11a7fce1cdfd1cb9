import { describe, expect, it } from "vitest";
import { blocksOf, canRevert, change, crmRecordUrl, explainRun, formatDuration, hasRows, isFinal, revertLimits, runDurationMs, stillChanging, whyNoRevert, type RunRow } from "./logic";

describe("formatDuration", () => {
  it.each([
    [0, "< 1 s"],
    [999, "< 1 s"],
    [1000, "1 s"],
    [59_999, "59 s"],
    [60_000, "1 min 00 s"],
    [185_000, "3 min 05 s"],
    [3_600_000, "1 h 00 min"],
    [3_725_000, "1 h 02 min"],
    [-5, "—"],
    [Number.NaN, "—"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("runDurationMs", () => {
  it("is undefined before the run starts", () => {
    expect(runDurationMs({ started_at: null, finished_at: null }, 0)).toBeUndefined();
  });
  it("counts to now while running, to the finish once done", () => {
    const started_at = "2026-12-03T10:00:00Z";
    const now = Date.parse("2026-12-03T10:00:42Z");
    expect(runDurationMs({ started_at, finished_at: null }, now)).toBe(42_000);
    expect(runDurationMs({ started_at, finished_at: "2026-12-03T10:01:00Z" }, now)).toBe(60_000);
  });
});

describe("run state", () => {
  it("polls until a final status", () => {
    expect(["queued", "waiting", "running"].map((s) => isFinal(s as never))).toEqual([false, false, false]);
    expect(["succeeded", "partial", "failed", "cancelled"].map((s) => isFinal(s as never))).toEqual([true, true, true, true]);
  });
  it("reads rows only once the CSV exists", () => {
    expect(hasRows({ status: "running", csv: null })).toBe(false);
    expect(hasRows({ status: "succeeded", csv: { bytes: 1, rows: 0, file_name: "x.csv" } })).toBe(true);
  });
  it("names the run a waiting run waits for, and a failure's reason", () => {
    const base = { error: null, waiting_for: null, object: "contacts", cancel_requested: false };
    expect(explainRun({ ...base, status: "waiting", waiting_for: "01ABC" })).toMatch(/01ABC.*contacts.*starts by itself/);
    expect(explainRun({ ...base, status: "failed", error: "the connection was refused" })).toMatch(/the connection was refused/);
    expect(explainRun({ ...base, status: "succeeded" })).toBeUndefined();
    expect(explainRun({ ...base, status: "partial", revert_of: "01X" })).toMatch(/not reverted.*Skipped/);
  });
  it("offers revert only on an ended, unreverted apply run", () => {
    const run = { mode: "apply" as const, status: "succeeded" as const, reverted_by: null, revert_of: null };
    expect(canRevert(run)).toBe(true);
    expect(canRevert({ ...run, mode: "preview" })).toBe(false);
    expect(canRevert({ ...run, status: "running" })).toBe(false);
    expect(canRevert({ ...run, reverted_by: "01X" })).toBe(false);
    expect(canRevert({ ...run, revert_of: "01Y" })).toBe(false);
  });
  it("offers no revert when nothing the run applied can be reverted, and says why", () => {
    const revertible = { updates: true, archives: "a", merges: "b", rows: 0, not_revertible: 304, reason: "what it applied cannot be undone by a revert (304 records merged)" };
    const run = { mode: "apply" as const, status: "succeeded" as const, reverted_by: null, revert_of: null, revertible };
    expect(canRevert(run)).toBe(false);
    expect(whyNoRevert(run)).toMatch(/cannot be reverted: what it applied cannot be undone by a revert \(304 records merged\)/);
    const some = { ...run, revertible: { ...revertible, rows: 12, reason: "a revert restores the fields of 12 records and leaves 3 as they are" } };
    expect(canRevert(some)).toBe(true);
    expect(whyNoRevert(some)).toBeUndefined();
    expect(revertLimits(some.revertible)[0]).toMatch(/^For this run: a revert restores the fields of 12 records/);
  });
  it("says what a revert cannot undo", () => {
    const lines = revertLimits({ updates: true, archives: "restore from HubSpot's recycling bin", merges: "cannot be undone" });
    expect(lines).toEqual(["Archived or deleted records: restore from HubSpot's recycling bin", "Merges: cannot be undone"]);
    expect(revertLimits({ updates: false, archives: "a", merges: "b" })[0]).toMatch(/cannot be restored/);
  });
});

describe("crmRecordUrl", () => {
  it("links a HubSpot record by portal and object type id", () => {
    expect(crmRecordUrl({ crm: "hubspot", org_id: "24681357" }, "contacts", "1945")).toBe("https://app.hubspot.com/contacts/24681357/record/0-1/1945");
    expect(crmRecordUrl({ crm: "hubspot", org_id: "1" }, "companies", "7")).toBe("https://app.hubspot.com/contacts/1/record/0-2/7");
    expect(crmRecordUrl({ crm: "hubspot", org_id: "1" }, "2-123456", "9")).toBe("https://app.hubspot.com/contacts/1/record/2-123456/9");
  });
  it("links a Salesforce record in Lightning, through login when the instance is unknown", () => {
    expect(crmRecordUrl({ crm: "salesforce", org_id: "00D" }, "Contact", "003xx", "https://acme.my.salesforce.com/")).toBe(
      "https://acme.my.salesforce.com/lightning/r/Contact/003xx/view",
    );
    const viaLogin = new URL(crmRecordUrl({ crm: "salesforce", org_id: "00D" }, "Lead", "00Qxx") ?? "");
    expect(viaLogin.origin).toBe("https://login.salesforce.com");
    expect(viaLogin.searchParams.get("startURL")).toBe("/lightning/r/Lead/00Qxx/view");
  });
  it("has no link for a CSV account", () => {
    expect(crmRecordUrl({ crm: "csv", org_id: "x" }, "contacts", "1")).toBeUndefined();
  });
});

function row(r: Partial<RunRow>): RunRow {
  return { row: 2, record_id: "1", action: "update", group_id: null, role: null, note: null, fields: {}, outcome: null, error_code: null, error_message: null, ...r };
}

describe("blocksOf", () => {
  it("keeps a merge group's rows together, even across pages, and other rows alone", () => {
    const blocks = blocksOf([
      row({ record_id: "1", group_id: "g1", role: "master" }),
      row({ record_id: "2", group_id: "g1", role: "duplicate" }),
      row({ record_id: "3", group_id: "g2", role: "master" }),
      row({ record_id: "9" }),
      row({ record_id: "4", group_id: "g2", role: "duplicate" }),
    ]);
    expect(blocks.map((b) => (b.kind === "group" ? `${b.groupId}:${b.rows.map((r) => r.record_id).join(",")}` : b.row.record_id))).toEqual(["g1:1,2", "g2:3,4", "9"]);
  });
});

describe("change", () => {
  it("shows before → after, and empty values in words", () => {
    expect(change({ before: "555", after: "+1 555" })).toBe("555 → +1 555");
    expect(change({ before: null, after: "x" })).toBe("(empty) → x");
    expect(change({ before: "same", after: "same" })).toBe("same");
  });
});

describe("stillChanging", () => {
  const notify = { recipients: ["ops@example.com"], subject: null, message: null };
  it("polls until the run is final and its report has gone out", () => {
    expect(stillChanging({ status: "running", notify: null, delivery: null })).toBe(true);
    expect(stillChanging({ status: "succeeded", notify: null, delivery: null })).toBe(false);
    expect(stillChanging({ status: "succeeded", notify, delivery: null })).toBe(true);
    const d = (status: "pending" | "sending" | "sent" | "failed") => ({ status, at: null, attached: null, attempts: 1 }) as never;
    expect(stillChanging({ status: "partial", notify, delivery: d("sending") })).toBe(true);
    expect(stillChanging({ status: "partial", notify, delivery: d("sent") })).toBe(false);
    expect(stillChanging({ status: "failed", notify, delivery: d("failed") })).toBe(false);
  });
});
