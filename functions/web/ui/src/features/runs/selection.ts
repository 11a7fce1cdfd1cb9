// "Apply what you reviewed": every change of a preview starts ticked; the person unticks
// merge groups or rows, and the apply request names exactly what they unticked. Rows on
// pages not read yet stay ticked, so the state is the exclusions, not the inclusions.
import type { components } from "../../api/schema";
import type { Run } from "./logic";

type ApplyInput = components["schemas"]["ApplyInput"];

export interface Exclusions {
  /** Merge groups left out (their `group_id`). */
  readonly groups: ReadonlySet<string>;
  /** Records left out (their `record_id`), for runs whose rows are not grouped. */
  readonly records: ReadonlySet<string>;
}

export const NONE: Exclusions = { groups: new Set(), records: new Set() };

function toggled(set: ReadonlySet<string>, id: string, ticked: boolean): Set<string> {
  const next = new Set(set);
  if (ticked) next.delete(id);
  else next.add(id);
  return next;
}

export function tickGroup(ex: Exclusions, groupId: string, ticked: boolean): Exclusions {
  return { ...ex, groups: toggled(ex.groups, groupId, ticked) };
}

export function tickRecord(ex: Exclusions, recordId: string, ticked: boolean): Exclusions {
  return { ...ex, records: toggled(ex.records, recordId, ticked) };
}

/** Tick (or untick) every change on screen at once. */
export function tickAll(ex: Exclusions, groupIds: readonly string[], recordIds: readonly string[], ticked: boolean): Exclusions {
  let next = ex;
  for (const g of groupIds) next = tickGroup(next, g, ticked);
  for (const r of recordIds) next = tickRecord(next, r, ticked);
  return next;
}

export function isTicked(ex: Exclusions, row: { group_id: string | null; record_id: string | null }): boolean {
  if (row.group_id) return !ex.groups.has(row.group_id);
  return row.record_id === null || !ex.records.has(row.record_id);
}

export function excludedCount(ex: Exclusions): number {
  return ex.groups.size + ex.records.size;
}

/**
 * How many of the preview's changes are still ticked: its planned changes (a merge plans
 * one change per group) minus the unticked ones.
 */
export function tickedCount(planned: number, ex: Exclusions): number {
  return Math.max(0, planned - excludedCount(ex));
}

export function applyLabel(n: number): string {
  return n === 1 ? "Apply the 1 ticked change" : `Apply the ${n} ticked changes`;
}

/** The body of `POST /runs/{id}/apply`: only what was unticked, sorted; empty lists left out. */
export function applyBody(ex: Exclusions, notify?: Run["notify"]): ApplyInput {
  const body: ApplyInput = {};
  if (ex.groups.size > 0) body.exclude_groups = [...ex.groups].sort();
  if (ex.records.size > 0) body.exclude_records = [...ex.records].sort();
  if (notify) body.notify = notify;
  return body;
}

/** A preview that ended well can be applied as reviewed, by a member with write on its module, once. */
export function canApplyReviewed(run: Pick<Run, "mode" | "status" | "revert_of" | "applied_by">, canWrite: boolean): boolean {
  return canWrite && run.mode === "preview" && run.status === "succeeded" && !run.revert_of && !run.applied_by;
}
