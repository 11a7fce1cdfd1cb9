// The When tab's schedule apart from React: the live preview's cache key and problems, fire
// times as the person reads them, and whether the schedule on screen is the one last saved.
import { ApiError } from "../../../api/problem";
import type { components } from "../../../api/schema";

type S = components["schemas"];
export type Schedule = S["Schedule"];
export type ScheduleInput = S["ScheduleInput"];

/** GET /schedules/preview's cache key: one entry per expression and zone. */
export function previewKey(expression: string, timezone: string) {
  return ["schedule-preview", expression, timezone] as const;
}

/**
 * The preview's refusal, by the input it is about. The API names the query parameter
 * (`expression`, `timezone`); a schedule's POST/PUT names the body's (`/expression`).
 */
export function scheduleProblems(error: unknown): { expression?: string; timezone?: string } {
  if (!(error instanceof ApiError)) return {};
  const at = (name: string) => error.fields.find((f) => f.pointer === name || f.pointer === `/${name}`)?.detail;
  const expression = at("expression");
  const timezone = at("timezone");
  return { ...(expression ? { expression } : {}), ...(timezone ? { timezone } : {}) };
}

/** Fire times (RFC 3339) in the schedule's zone, written as the person's locale writes dates. */
export function fireTimes(next: readonly string[], timezone: string, locale?: string): string[] {
  const fmt = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short", timeZone: timezone });
  return next.map((t) => fmt.format(new Date(t)));
}

/** What the When tab would send: compared with what it last sent to tell an unsaved change. */
export interface ScheduleDraft {
  mode: S["Mode"];
  expression: string;
  timezone: string;
  notify: S["NotifyInput"] | undefined;
}

export function sameDraft(a: ScheduleDraft, b: ScheduleDraft): boolean {
  const notify = (n: ScheduleDraft["notify"]) => JSON.stringify(n ? [n.recipients, n.subject ?? "", n.message ?? ""] : null);
  return a.mode === b.mode && a.expression === b.expression && a.timezone === b.timezone && notify(a.notify) === notify(b.notify);
}

/**
 * The PUT /schedules/{id} body: a replace, so what the When tab does not edit (paused, the
 * API reserve) is sent back as the stored schedule has it.
 */
export function updateInput(current: Schedule, templateId: string, d: ScheduleDraft): ScheduleInput {
  return {
    template_id: templateId,
    mode: d.mode,
    expression: d.expression,
    timezone: d.timezone,
    paused: current.paused,
    reserve_percent: current.reserve_percent,
    notify: d.notify ?? null,
  };
}
