// The team's rules as the console applies them before asking the API: what a signed-in
// role may do to a member, the PATCH body of an edit (only what changed), who can still
// be invited. The API enforces all of it again; this only decides what to offer.
import type { Me } from "../../api/session";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Member = Schemas["MemberView"];
export type Permissions = Schemas["Permissions"];
export type Permission = Schemas["Permission"];
export type MemberPatch = Schemas["MemberPatch"];
export type CrmUser = Schemas["CrmUserView"];
export type InvitedRole = Schemas["InvitedRole"];

export const MODULE_IDS = ["merge", "bulk", "transform", "grid", "validate"] as const satisfies readonly (keyof Permissions)[];

export const PERMISSION_LABELS: Record<Permission, string> = { none: "No access", read: "Read (preview)", write: "Write (apply)" };
export const ROLE_LABELS: Record<Schemas["Role2"], string> = { owner: "Owner", admin: "Admin", user: "User" };
export const STATUS_LABELS: Record<Schemas["MemberStatus"], string> = { active: "Active", invited: "Invited", removed: "Removed" };

/** An edit of one member, as the row holds it before saving. */
export interface AccessDraft {
  role: Schemas["Role2"];
  permissions: Permissions;
}

export function draftOf(m: Member): AccessDraft {
  return { role: m.role, permissions: { ...m.permissions } };
}

/** The modules whose permission differs, and only those (the API leaves the others as they are). */
export function permissionsPatch(before: Permissions, after: Permissions): Schemas["PermissionsPatch"] | undefined {
  const patch: Schemas["PermissionsPatch"] = {};
  for (const id of MODULE_IDS) if (before[id] !== after[id]) patch[id] = after[id];
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * The PATCH /team/members/{id} body for an edit: the role when it changed, the modules
 * whose permission changed; undefined when nothing changed. Ownership is never given by
 * an edit (it is transferred, confirmed, through `transferPatch`).
 */
export function memberPatch(m: Member, draft: AccessDraft): MemberPatch | undefined {
  const body: MemberPatch = {};
  if (draft.role !== m.role && draft.role !== "owner") body.role = draft.role;
  const permissions = permissionsPatch(m.permissions, draft.permissions);
  if (permissions) body.permissions = permissions;
  return Object.keys(body).length > 0 ? body : undefined;
}

export const transferPatch: MemberPatch = { role: "owner" };

/** What the signed-in person may do to one member (what the console offers). */
export interface MemberActions {
  editAccess: boolean;
  resendInvitation: boolean;
  cancelInvitation: boolean;
  transferOwnership: boolean;
  remove: boolean;
}

export function isManager(me: Pick<Me, "role"> | undefined): boolean {
  return me?.role === "owner" || me?.role === "admin";
}

export function memberActions(me: Pick<Me, "role" | "user"> | undefined, m: Member): MemberActions {
  const manager = isManager(me);
  const self = me?.user.id === m.id;
  const owner = m.role === "owner";
  const removed = m.status === "removed";
  const invited = m.status === "invited" && m.invitation !== null;
  return {
    // The owner may do everything everywhere; their role changes only by a transfer.
    editAccess: manager && !owner && !removed,
    resendInvitation: manager && invited,
    cancelInvitation: manager && invited,
    transferOwnership: me?.role === "owner" && !owner && m.status === "active",
    // Removing oneself would end one's own session mid-click; an invitation is cancelled instead.
    remove: manager && !owner && !self && m.status === "active",
  };
}

/** CRM users who are not on the team (a removed member may be invited again), matching `query`. */
export function invitable(users: readonly CrmUser[], members: readonly Member[], query = ""): CrmUser[] {
  const taken = new Set(members.filter((m) => m.status !== "removed").map((m) => m.id));
  const q = query.trim().toLowerCase();
  return users
    .filter((u) => !taken.has(u.id))
    .filter((u) => !q || (u.name ?? "").toLowerCase().includes(q) || u.email.toLowerCase().includes(q))
    .sort((a, b) => (a.name ?? a.email).localeCompare(b.name ?? b.email));
}

export const NO_ACCESS: Permissions = { merge: "none", bulk: "none", transform: "none", grid: "none", validate: "none" };

/** The invitation's body: the role and every module's permission, said explicitly. */
export function inviteRequest(userId: string, role: InvitedRole, permissions: Permissions): Schemas["InviteRequest"] {
  return { user_id: userId, role, permissions: { ...permissions } };
}

/** Members in the order a person scans them: owner, then active, invited, removed; by name. */
export function sortMembers(members: readonly Member[]): Member[] {
  const rank = (m: Member) => (m.role === "owner" ? 0 : m.status === "active" ? 1 : m.status === "invited" ? 2 : 3);
  return [...members].sort((a, b) => rank(a) - rank(b) || (a.name ?? a.email).localeCompare(b.name ?? b.email));
}

export function displayName(m: { name: string | null; email: string }): string {
  return m.name || m.email || "(purged member)";
}

/** The integration user's connect button: again after the CRM refused it, another one, or a first. */
export function integrationLoginLabel(integration: Schemas["IntegrationView"], crm: string): string {
  if (!integration.set) return "Connect an integration user";
  return integration.healthy === false ? "Sign in again as the integration user" : `Connect a different ${crm} user`;
}
