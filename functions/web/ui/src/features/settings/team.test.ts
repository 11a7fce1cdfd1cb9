import { describe, expect, it } from "vitest";
import { draftOf, invitable, inviteRequest, memberActions, memberPatch, NO_ACCESS, permissionsPatch, sortMembers, type Member } from "./team";

const ALL_WRITE = { merge: "write", bulk: "write", transform: "write", grid: "write", validate: "write" } as const;

function member(over: Partial<Member> & { id: string }): Member {
  return {
    email: `${over.id}@acme.test`,
    name: over.id,
    invitation: null,
    last_login_at: null,
    permissions: { ...NO_ACCESS },
    role: "user",
    status: "active",
    ...over,
  };
}

const owner = member({ id: "owner", role: "owner", permissions: { ...ALL_WRITE } });
const admin = member({ id: "admin", role: "admin" });
const user = member({ id: "user" });
const invited = member({
  id: "invited",
  status: "invited",
  invitation: { id: "inv1", expired: false, expires_at: "2030-01-01T00:00:00Z", sent_at: "2026-01-01T00:00:00Z" },
});
const removed = member({ id: "removed", status: "removed" });

const signedInAs = (m: Member) => ({ role: m.role, user: { id: m.id, email: m.email, name: m.name, last_login_at: null } });

describe("an edit's PATCH body", () => {
  it("names only the modules whose permission changed", () => {
    const draft = draftOf(user);
    draft.permissions.merge = "read";
    draft.permissions.grid = "write";
    expect(memberPatch(user, draft)).toEqual({ permissions: { merge: "read", grid: "write" } });
  });

  it("carries the role only when it changed", () => {
    const draft = draftOf(user);
    draft.role = "admin";
    expect(memberPatch(user, draft)).toEqual({ role: "admin" });
  });

  it("is nothing when the edit went back to what was there", () => {
    const draft = draftOf(user);
    draft.permissions.bulk = "write";
    draft.permissions.bulk = "none";
    expect(memberPatch(user, draft)).toBeUndefined();
    expect(permissionsPatch(user.permissions, { ...user.permissions })).toBeUndefined();
  });

  it("never makes someone owner (that is a confirmed transfer)", () => {
    const draft = draftOf(user);
    draft.role = "owner";
    expect(memberPatch(user, draft)).toBeUndefined();
  });
});

describe("what a role may do to a member", () => {
  it("an owner may transfer ownership to an active member, and edit or remove them", () => {
    expect(memberActions(signedInAs(owner), user)).toEqual({
      editAccess: true,
      resendInvitation: false,
      cancelInvitation: false,
      transferOwnership: true,
      remove: true,
    });
  });

  it("an admin may edit and remove, but not transfer ownership", () => {
    const a = memberActions(signedInAs(admin), user);
    expect(a.editAccess).toBe(true);
    expect(a.remove).toBe(true);
    expect(a.transferOwnership).toBe(false);
  });

  it("nobody edits, removes or demotes the owner in the table", () => {
    for (const who of [owner, admin, user]) {
      const a = memberActions(signedInAs(who), owner);
      expect(a.editAccess || a.remove || a.transferOwnership).toBe(false);
    }
  });

  it("a user sees the team read-only", () => {
    expect(Object.values(memberActions(signedInAs(user), admin)).some(Boolean)).toBe(false);
    expect(Object.values(memberActions(signedInAs(user), invited)).some(Boolean)).toBe(false);
  });

  it("an invitation is resent or cancelled, not removed or given ownership", () => {
    expect(memberActions(signedInAs(owner), invited)).toEqual({
      editAccess: true,
      resendInvitation: true,
      cancelInvitation: true,
      transferOwnership: false,
      remove: false,
    });
  });

  it("a removed member is history: nothing to do", () => {
    expect(Object.values(memberActions(signedInAs(owner), removed)).some(Boolean)).toBe(false);
  });

  it("nobody removes themselves from the table", () => {
    expect(memberActions(signedInAs(admin), admin).remove).toBe(false);
    expect(memberActions(signedInAs(admin), admin).editAccess).toBe(true);
  });
});

describe("who can be invited", () => {
  const crm = [
    { id: "owner", email: "owner@acme.test", name: "Morgan Reyes" },
    { id: "p", email: "priya.shah@acme.test", name: "Priya Shah" },
    { id: "d", email: "daniel.okafor@acme.test", name: "Daniel Okafor" },
    { id: "removed", email: "removed@acme.test", name: "Rem Oved" },
    { id: "invited", email: "invited@acme.test", name: "In Vited" },
  ];

  it("leaves out members and invitees, keeps removed members, sorted by name", () => {
    expect(invitable(crm, [owner, invited, removed]).map((u) => u.id)).toEqual(["d", "p", "removed"]);
  });

  it("searches names and emails, ignoring case", () => {
    expect(invitable(crm, [owner], "PRIYA").map((u) => u.id)).toEqual(["p"]);
    expect(invitable(crm, [owner], "okafor@").map((u) => u.id)).toEqual(["d"]);
    expect(invitable(crm, [owner], "nobody")).toEqual([]);
  });

  it("the invitation says every module's permission", () => {
    expect(inviteRequest("p", "user", { ...NO_ACCESS, merge: "read" })).toEqual({
      user_id: "p",
      role: "user",
      permissions: { merge: "read", bulk: "none", transform: "none", grid: "none", validate: "none" },
    });
  });
});

it("lists the owner first, then active, invited and removed members", () => {
  expect(sortMembers([removed, invited, user, admin, owner]).map((m) => m.id)).toEqual(["owner", "admin", "user", "invited", "removed"]);
});
