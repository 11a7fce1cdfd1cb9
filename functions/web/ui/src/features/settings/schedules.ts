// Schedules as the console edits them: who may change one (what running it needs), the
// PUT body of an edit (the rest of the schedule kept as it is), and the version check.
import { can, type Me } from "../../api/session";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Schedule = Schemas["Schedule"];
export type ScheduleInput = Schemas["ScheduleInput"];
export type Mode = Schemas["Mode"];

/** Changing a schedule needs what running it needs: read for a preview, write for an apply. */
export function canChangeSchedule(me: Me | undefined, s: Pick<Schedule, "module" | "mode">): boolean {
  return can(me, s.module, s.mode === "apply" ? "write" : "read");
}

/** What the edit dialog changes. */
export interface ScheduleEdit {
  mode: Mode;
  expression: string;
  timezone: string;
  recipients: string[];
}

export function editOf(s: Schedule): ScheduleEdit {
  return { mode: s.mode, expression: s.expression, timezone: s.timezone, recipients: [...(s.notify?.recipients ?? [])] };
}

/**
 * The PUT /schedules/{id} body: a replace, so everything the dialog does not edit (the
 * template, the paused state, the reserve, the report's subject and message) is sent back
 * as it was. No recipients means no report.
 */
export function scheduleInput(s: Schedule, edit: ScheduleEdit): ScheduleInput {
  const recipients = edit.recipients.map((r) => r.trim()).filter(Boolean);
  return {
    template_id: s.template_id,
    mode: edit.mode,
    expression: edit.expression.trim(),
    timezone: edit.timezone,
    paused: s.paused,
    reserve_percent: s.reserve_percent,
    notify: recipients.length > 0 ? { recipients, subject: s.notify?.subject ?? null, message: s.notify?.message ?? null } : null,
  };
}

/** Someone else saved the schedule since it was opened. */
export function changedSince(opened: Pick<Schedule, "version">, now: Pick<Schedule, "version">): boolean {
  return opened.version !== now.version;
}

/** The IANA zones this browser knows, the schedule's own first when it is not among them. */
export function timeZones(current?: string): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const all = zones.includes("UTC") ? zones : ["UTC", ...zones];
  return current && !all.includes(current) ? [current, ...all] : all;
}
