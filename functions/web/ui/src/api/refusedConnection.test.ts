import { describe, expect, it } from "vitest";
import { ApiError, SIGN_IN_AGAIN, isSignInAgain } from "./problem";
import { noteRefusedConnection, refusedConnection } from "./refusedConnection";
import { loginHref, signInAgainHref } from "./session";
import { integrationLoginLabel } from "../features/settings/team";

const refused = new ApiError(403, {
  type: SIGN_IN_AGAIN,
  title: "Sign in again",
  status: 403,
  detail: "the CRM refused your connection (HubSpot refused the refresh token (BAD_REFRESH_TOKEN)); sign in again to reconnect",
});
const forbidden = new ApiError(403, { type: "https://steward.dev/problems/forbidden", title: "Forbidden", status: 403, detail: "admins only" });

describe("a refused CRM connection", () => {
  it("is told apart from any other 403 by its problem type", () => {
    expect(isSignInAgain(refused)).toBe(true);
    expect(isSignInAgain(forbidden)).toBe(false);
    expect(isSignInAgain(new Error("offline"))).toBe(false);
  });

  it("is kept for the shell's notice from whichever call met it first", () => {
    noteRefusedConnection(forbidden);
    expect(refusedConnection()).toBeUndefined();
    noteRefusedConnection(refused);
    noteRefusedConnection(new ApiError(403, { ...refused.problem, detail: "later" }));
    expect(refusedConnection()?.detail).toContain("BAD_REFRESH_TOKEN");
  });

  it("signs in again with the account's CRM and comes back to the same page", () => {
    expect(signInAgainHref("hubspot", { pathname: "/modules/merge", search: "?template=01J0" })).toBe(
      "/auth/hubspot/login?return_to=%2Fmodules%2Fmerge%3Ftemplate%3D01J0",
    );
    expect(signInAgainHref("salesforce", { pathname: "/", search: "" })).toBe("/auth/salesforce/login");
    expect(signInAgainHref("csv", { pathname: "/activity", search: "" })).toBeUndefined();
    expect(loginHref("hubspot")).toBe("/auth/hubspot/login");
  });

  it("turns the integration user's connect button into signing in again", () => {
    const base = { set: true, email: "ops@acme.test", checked_at: "2026-01-01T00:00:00Z", problem: null };
    expect(integrationLoginLabel({ ...base, healthy: false, problem: "refused" }, "HubSpot")).toBe("Sign in again as the integration user");
    expect(integrationLoginLabel({ ...base, healthy: true }, "HubSpot")).toBe("Connect a different HubSpot user");
    expect(integrationLoginLabel({ set: false, healthy: null, email: null, checked_at: null, problem: null }, "HubSpot")).toBe("Connect an integration user");
  });
});
