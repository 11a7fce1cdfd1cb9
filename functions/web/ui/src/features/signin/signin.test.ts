import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { SIGN_IN_ERRORS, signInError } from "./errors";
import { safeReturnTo } from "./returnTo";

describe("return_to", () => {
  it("keeps same-origin paths with their query", () => {
    expect(safeReturnTo("/modules/merge?template=01J0")).toBe("/modules/merge?template=01J0");
    expect(safeReturnTo("/activity?run=01ABC")).toBe("/activity?run=01ABC");
  });
  it("drops anything that could leave the origin", () => {
    for (const bad of ["//evil.com", "/\\evil.com", "https://evil.com", "evil.com", "", null, "/\u0000x", "javascript:alert(1)"]) {
      expect(safeReturnTo(bad)).toBeUndefined();
    }
  });
});

describe("sign-in refusals", () => {
  it("names the CRM in each message", () => {
    const e = signInError("inactive_user", "salesforce");
    expect(e.title).toBe("Your Salesforce user is inactive");
    expect(e.next).toContain("Salesforce admin");
    expect(signInError("something_new", null).what).toContain("something_new");
  });
  it("has a message for every code the API documents, and no other", () => {
    const doc = readFileSync(resolve(__dirname, "../../../../../../docs/api.md"), "utf8");
    const table = doc.slice(doc.indexOf("| `error` | title |"));
    const codes = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]).filter((c) => c !== "error");
    expect(codes.length).toBeGreaterThan(10);
    expect(Object.keys(SIGN_IN_ERRORS).sort()).toEqual([...new Set(codes)].sort());
  });
});
