// The Activity Tracker's filters live in the URL (`/activity?run=…&module=merge&from=…`), so a
// filtered view is a link anyone can open, and a report email's `?run=<id>` shows that run.
import type { components, operations } from "../../api/schema";
import { MODULES } from "../../app/modules";
import { STATUS, TRIGGER, type RunStatus, type Trigger } from "../runs";

type Module = components["schemas"]["Module"];
export type RunsQuery = NonNullable<operations["runs_list"]["parameters"]["query"]>;

export interface ActivityFilters {
  run?: string;
  module?: Module;
  member?: string;
  status?: RunStatus;
  trigger?: Trigger;
  /** A day, `YYYY-MM-DD`, in the person's time zone: runs from its start. */
  from?: string;
  /** A day, `YYYY-MM-DD`: runs until its end (inclusive). */
  to?: string;
}

const KEYS = ["run", "module", "member", "status", "trigger", "from", "to"] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A Run ID is a ULID: 26 Crockford base-32 characters. */
const ULID = /[0-9A-HJKMNP-TV-Z]{26}/i;

/**
 * The Run ID in what was pasted: the ID itself, or a run page / Activity link containing it;
 * otherwise the text as typed (the API answers it with no runs).
 */
export function parseRunId(text: string): string {
  const t = text.trim();
  const m = ULID.exec(t);
  return m ? m[0].toUpperCase() : t;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

export const MODULE_IDS = MODULES.map((m) => m.id);
export const STATUSES = Object.keys(STATUS) as RunStatus[];
export const TRIGGERS = Object.keys(TRIGGER) as Trigger[];

/** The filters a URL names; unknown values are dropped rather than refused, so an old link still opens. */
export function filtersFromSearch(search: URLSearchParams): ActivityFilters {
  const f: ActivityFilters = {};
  const run = search.get("run");
  if (run?.trim()) f.run = parseRunId(run);
  const module = oneOf(search.get("module"), MODULE_IDS);
  if (module) f.module = module;
  const member = search.get("member")?.trim();
  if (member) f.member = member;
  const status = oneOf(search.get("status"), STATUSES);
  if (status) f.status = status;
  const trigger = oneOf(search.get("trigger"), TRIGGERS);
  if (trigger) f.trigger = trigger;
  const from = search.get("from");
  if (from && DAY.test(from)) f.from = from;
  const to = search.get("to");
  if (to && DAY.test(to)) f.to = to;
  return f;
}

/** The URL's query for the filters, in a fixed order, empty ones left out. */
export function filtersToSearch(f: ActivityFilters): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of KEYS) {
    const v = f[k];
    if (v) out.set(k, v);
  }
  return out;
}

/** Midnight starting `day` (YYYY-MM-DD) in the browser's time zone, plus `days`. */
function localMidnight(day: string, days = 0): Date {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(y, m - 1, d + days);
}

/** The filters as GET /runs takes them: days become instants in the person's time zone; `to` includes its day. */
export function toRunsQuery(f: ActivityFilters, limit = 50): RunsQuery {
  const q: RunsQuery = { limit };
  if (f.run) q.run_id = f.run;
  if (f.module) q.module = f.module;
  if (f.member) q.member = f.member;
  if (f.status) q.status = f.status;
  if (f.trigger) q.trigger = f.trigger;
  if (f.from) q.from = localMidnight(f.from).toISOString();
  if (f.to) q.to = localMidnight(f.to, 1).toISOString();
  return q;
}

/** A range the API would refuse (`from` must be before `to`), said in words. */
export function rangeProblem(f: ActivityFilters): string | undefined {
  if (f.from && f.to && f.from > f.to) return "“From” is after “To”: no run can be in that range.";
  return undefined;
}

export function hasFilters(f: ActivityFilters): boolean {
  return KEYS.some((k) => Boolean(f[k]));
}
