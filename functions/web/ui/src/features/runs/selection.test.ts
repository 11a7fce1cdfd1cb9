import { describe, expect, it } from "vitest";
import { NONE, applyBody, applyLabel, canApplyReviewed, isTicked, tickAll, tickGroup, tickRecord, tickedCount } from "./selection";

describe("apply what you reviewed", () => {
  it("starts with everything ticked and an empty body", () => {
    expect(isTicked(NONE, { group_id: "g1", record_id: "1" })).toBe(true);
    expect(applyBody(NONE)).toEqual({});
    expect(tickedCount(11, NONE)).toBe(11);
  });

  it("names exactly the unticked groups, sorted, and counts what is left", () => {
    let ex = tickGroup(NONE, "g7", false);
    ex = tickGroup(ex, "g2", false);
    ex = tickGroup(ex, "g5", false);
    ex = tickGroup(ex, "g5", true); // ticked again
    expect(applyBody(ex)).toEqual({ exclude_groups: ["g2", "g7"] });
    expect(tickedCount(11, ex)).toBe(9);
    expect(applyLabel(tickedCount(11, ex))).toBe("Apply the 9 ticked changes");
    expect(isTicked(ex, { group_id: "g2", record_id: "1" })).toBe(false);
    expect(isTicked(ex, { group_id: "g3", record_id: "1" })).toBe(true);
  });

  it("names unticked records of ungrouped runs, and passes notify on", () => {
    const ex = tickRecord(tickRecord(NONE, "1013", false), "1006", false);
    const notify = { recipients: ["ops@acme.com"], subject: null, message: null };
    expect(applyBody(ex, notify)).toEqual({ exclude_records: ["1006", "1013"], notify });
    expect(isTicked(ex, { group_id: null, record_id: "1006" })).toBe(false);
  });

  it("unticks and reticks everything on screen at once", () => {
    const off = tickAll(NONE, ["g1", "g2"], ["5"], false);
    expect(applyBody(off)).toEqual({ exclude_groups: ["g1", "g2"], exclude_records: ["5"] });
    expect(applyBody(tickAll(off, ["g1", "g2"], ["5"], true))).toEqual({});
    expect(tickedCount(2, off)).toBe(0);
    expect(applyLabel(1)).toBe("Apply the 1 ticked change");
  });

  it("is offered on a succeeded preview, to a writer, once", () => {
    const preview = { mode: "preview" as const, status: "succeeded" as const, revert_of: null, applied_by: null };
    expect(canApplyReviewed(preview, true)).toBe(true);
    expect(canApplyReviewed(preview, false)).toBe(false);
    expect(canApplyReviewed({ ...preview, status: "partial" }, true)).toBe(false);
    expect(canApplyReviewed({ ...preview, mode: "apply" }, true)).toBe(false);
    expect(canApplyReviewed({ ...preview, applied_by: "01NEXT" }, true)).toBe(false);
  });
});
