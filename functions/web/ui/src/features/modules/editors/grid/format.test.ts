// Cells read in the person's locale, but a wrong value reads exactly as typed (a rolled-over
// "Mar 1" for 2024-02-30 would hide the mistake the cell is flagging).
import { describe, expect, it } from "vitest";
import { formatCell } from "./format";

describe("formatCell", () => {
  it("shows dates and datetimes in the locale, and anything malformed as typed", () => {
    expect(formatCell({ type: "date" }, "2024-02-29")).not.toBe("2024-02-29");
    expect(formatCell({ type: "date" }, "2024-02-29")).toMatch(/2024/);
    expect(formatCell({ type: "date" }, "2024-02-30")).toBe("2024-02-30");
    expect(formatCell({ type: "date_time" }, "2024-02-30T10:00:00Z")).toBe("2024-02-30T10:00:00Z");
    expect(formatCell({ type: "date_time" }, "2024-01-31 10:00:00Z")).toBe("2024-01-31 10:00:00Z");
    expect(formatCell({ type: "date_time" }, "2024-01-31T10:00:00.000+0000")).toMatch(/2024/);
    expect(formatCell({ type: "date_time" }, "2024-01-31T10:00:00.000+0000")).not.toMatch(/T10/);
    expect(formatCell({ type: "number" }, "1.500,00")).toBe("1.500,00");
    expect(formatCell({ type: "text" }, null)).toBe("");
  });
});
