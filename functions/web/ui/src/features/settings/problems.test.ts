import { expect, it } from "vitest";
import { ApiError } from "../../api/problem";
import { needsAlert } from "./problems";

const problem = (pointers: string[]) =>
  new ApiError(400, { type: "about:blank", title: "Invalid", status: 400, detail: "", errors: pointers.map((pointer) => ({ pointer, detail: "wrong" })) });
const claimed = (p: string) => p === "/expression";

it("leaves out the alert when every problem is shown beside its field", () => {
  expect(needsAlert(problem(["/expression"]), claimed)).toBe(false);
});

it("shows the alert for a problem no field shows, or one with no field at all", () => {
  expect(needsAlert(problem(["/expression", "/reserve_percent"]), claimed)).toBe(true);
  expect(needsAlert(problem([]), claimed)).toBe(true);
  expect(needsAlert(new Error("offline"), claimed)).toBe(true);
  expect(needsAlert(null, claimed)).toBe(false);
});
