// What a run page says about a run, as plain functions: whether it is over, how long it
// took, its status in words, why it fails or waits, what a revert cannot undo, and where
// a record lives in the CRM.
import type { components } from "../../api/schema";

export type Run = components["schemas"]["Run"];
export type RunStatus = components["schemas"]["RunStatus"];
export type RunRow = components["schemas"]["RunRow"];
export type MeAccount = components["schemas"]["MeAccount"];
export type Trigger = components["schemas"]["Trigger"];

const FINAL: ReadonlySet<RunStatus> = new Set(["succeeded", "partial", "failed", "cancelled"]);

/** A final run changes no more: no polling, rows can be read. */
export function isFinal(status: RunStatus | undefined): boolean {
  return status !== undefined && FINAL.has(status);
}

/** The run has its CSV (GET /runs/{id}/rows answers 409 before). */
export function hasRows(run: Pick<Run, "status" | "csv">): boolean {
  return run.csv !== null || isFinal(run.status);
}

export const STATUS: Record<RunStatus, { label: string; color: string }> = {
  queued: { label: "Queued", color: "gray" },
  waiting: { label: "Waiting", color: "yellow" },
  running: { label: "Running", color: "blue" },
  succeeded: { label: "Succeeded", color: "green" },
  partial: { label: "Partly failed", color: "orange" },
  failed: { label: "Failed", color: "red" },
  cancelled: { label: "Cancelled", color: "gray" },
};

export const TRIGGER: Record<Trigger, string> = {
  manual: "Run now",
  schedule: "Schedule",
  revert: "Revert",
  flow: "Salesforce Flow",
  workflow: "HubSpot workflow",
};

export const MODE: Record<Run["mode"], string> = { preview: "Preview", apply: "Apply" };

/** `42 s`, `3 min 05 s`, `1 h 02 min`; under a second `< 1 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return "< 1 s";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, "0")} min`;
}

/** From start to finish, or to `now` while it runs; undefined before it started. */
export function runDurationMs(run: Pick<Run, "started_at" | "finished_at">, now: number): number | undefined {
  if (!run.started_at) return undefined;
  const end = run.finished_at ? Date.parse(run.finished_at) : now;
  return end - Date.parse(run.started_at);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const shortDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });

/** In the person's locale and time zone. */
export function formatTime(iso: string | null | undefined, short = false): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : (short ? shortDateTime : dateTime).format(t);
}

/** Why a run is not simply running or done, in words; undefined when there is nothing to say. */
export function explainRun(run: Pick<Run, "status" | "error" | "waiting_for" | "object" | "cancel_requested"> & Partial<Pick<Run, "revert_of">>): string | undefined {
  switch (run.status) {
    case "waiting":
      return `Another apply run${run.waiting_for ? ` (${run.waiting_for})` : ""} is changing ${run.object}. This run starts by itself as soon as that one ends, so the two never write the same records at once.`;
    case "queued":
      return "Steward has this run and starts it in a moment.";
    case "running":
      return run.cancel_requested ? "Cancel requested: the run stops after the batch it is sending; the rest is reported as skipped." : undefined;
    case "failed":
      return `The run stopped and could not go on${run.error ? `: ${run.error}` : "."} Records it had not reached are unchanged.`;
    case "partial":
      if (run.revert_of)
        return "Some records were not reverted: filter the rows by outcome “Skipped” to see why (CONFLICT: changed since by someone else, so left as it is; NOT REVERTIBLE: a change the CRM cannot undo). The other records were restored.";
      return "Some records were not changed: filter the rows by outcome “Failed” to see why (the CRM's error, or CONFLICT for a record changed since its preview). The other changes were made.";
    case "cancelled":
      return "Cancelled: what was applied before the stop stays applied; the rest is reported as skipped.";
    default:
      return run.error ?? undefined;
  }
}

/** What undoing this apply run will not do, one sentence each (from the run's `revertible`). */
export function revertLimits(revertible: Run["revertible"]): string[] {
  if (!revertible) return ["This run cannot be reverted."];
  const out: string[] = [];
  if (revertible.reason) out.push(`For this run: ${revertible.reason}.`);
  if (!revertible.updates) out.push("Field updates cannot be restored for this run.");
  out.push(`Archived or deleted records: ${revertible.archives}`);
  out.push(`Merges: ${revertible.merges}`);
  return out;
}

/** Apply runs that ended, were not reverted, are not themselves reverts and applied something a revert can restore can be reverted. */
export function canRevert(run: Pick<Run, "mode" | "status" | "reverted_by" | "revert_of"> & Partial<Pick<Run, "revertible">>): boolean {
  return run.mode === "apply" && isFinal(run.status) && run.status !== "failed" && !run.reverted_by && !run.revert_of && run.revertible?.rows !== 0;
}

/** Why an ended apply run offers no revert when nothing it applied can be reverted (its `revertible` says). */
export function whyNoRevert(run: Pick<Run, "mode" | "status" | "reverted_by" | "revertible">): string | undefined {
  if (run.mode !== "apply" || !isFinal(run.status) || run.reverted_by || run.revertible?.rows !== 0) return undefined;
  return `This run cannot be reverted: ${run.revertible.reason ?? "what it applied cannot be undone by a revert"}.`;
}

const HUBSPOT_TYPES: Record<string, string> = {
  contacts: "0-1",
  contact: "0-1",
  companies: "0-2",
  company: "0-2",
  deals: "0-3",
  deal: "0-3",
  tickets: "0-5",
  ticket: "0-5",
};

/**
 * The record's page in the CRM. HubSpot: the portal is the account's org id, the object
 * its type id (0-1 contacts, ...). Salesforce: the account knows the org, not its My Domain,
 * so the link goes through Salesforce's login with `startURL`, which lands on the record in
 * the person's own instance; given an instance URL it links there directly.
 */
export function crmRecordUrl(account: Pick<MeAccount, "crm" | "org_id">, object: string, id: string, instanceUrl?: string): string | undefined {
  const rec = encodeURIComponent(id);
  if (account.crm === "hubspot") {
    const type = HUBSPOT_TYPES[object.toLowerCase()] ?? (/^\d+-\d+$/.test(object) ? object : encodeURIComponent(object));
    return `https://app.hubspot.com/contacts/${encodeURIComponent(account.org_id)}/record/${type}/${rec}`;
  }
  if (account.crm === "salesforce") {
    const path = `/lightning/r/${encodeURIComponent(object)}/${rec}/view`;
    return instanceUrl ? `${instanceUrl.replace(/\/$/, "")}${path}` : `https://login.salesforce.com/?startURL=${encodeURIComponent(path)}`;
  }
  return undefined;
}

/** A merge group's rows together (the master first, as the CSV writes them); other rows alone. */
export type RowBlock = { kind: "group"; groupId: string; rows: RunRow[] } | { kind: "row"; row: RunRow };

export function blocksOf(rows: readonly RunRow[]): RowBlock[] {
  const out: RowBlock[] = [];
  const groups = new Map<string, { kind: "group"; groupId: string; rows: RunRow[] }>();
  for (const row of rows) {
    if (row.group_id) {
      let g = groups.get(row.group_id);
      if (!g) {
        g = { kind: "group", groupId: row.group_id, rows: [] };
        groups.set(row.group_id, g);
        out.push(g);
      }
      g.rows.push(row);
    } else {
      out.push({ kind: "row", row });
    }
  }
  return out;
}

/** A field's change as one line: `before → after`, with "(empty)" for no value. */
export function change(v: { before: string | null; after: string | null } | undefined): string {
  if (!v) return "";
  const show = (s: string | null) => (s === null || s === "" ? "(empty)" : s);
  return v.before === v.after ? show(v.before) : `${show(v.before)} → ${show(v.after)}`;
}

/** Whether a run will still change: not final, or its report is still to be sent. */
export function stillChanging(run: Pick<Run, "status" | "notify" | "delivery">): boolean {
  if (!isFinal(run.status)) return true;
  if (!run.notify || run.notify.recipients.length === 0) return false;
  return !run.delivery || run.delivery.status === "pending" || run.delivery.status === "sending";
}
