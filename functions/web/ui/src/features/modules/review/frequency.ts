// The When tab's frequency builder, apart from React: a frequency a person picks becomes the
// EventBridge Scheduler expression Steward's schedules take (`rate(...)` or a six-field
// `cron(...)`), evaluated in the schedule's IANA time zone.

export type RateUnit = "minutes" | "hours" | "days";
export const WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const WEEKDAY_NAMES: Record<Weekday, string> = {
  MON: "Monday",
  TUE: "Tuesday",
  WED: "Wednesday",
  THU: "Thursday",
  FRI: "Friday",
  SAT: "Saturday",
  SUN: "Sunday",
};

/** A day of the month, or its last day (`L`). */
export type MonthDay = number | "last";

export type Frequency =
  | { kind: "every"; n: number; unit: RateUnit }
  | { kind: "daily"; time: string }
  | { kind: "weekly"; days: Weekday[]; time: string }
  | { kind: "monthly"; day: MonthDay; time: string };

export type FrequencyKind = Frequency["kind"];

/** Where a new schedule starts: every weekday morning is what most automations want. */
export const DEFAULT_FREQUENCY: Frequency = { kind: "daily", time: "09:00" };

/** The same frequency under another kind, keeping the time where both have one. */
export function withKind(f: Frequency, kind: FrequencyKind): Frequency {
  if (f.kind === kind) return f;
  const time = "time" in f ? f.time : "09:00";
  switch (kind) {
    case "every":
      return { kind, n: 1, unit: "hours" };
    case "daily":
      return { kind, time };
    case "weekly":
      return { kind, days: ["MON"], time };
    case "monthly":
      return { kind, day: 1, time };
  }
}

/** AWS's cap on a rate is not documented; Steward's (shared/src/schedule_expr.rs) is this. */
const MAX_RATE = 1_000_000;

/** `HH:MM` (24-hour) as hour and minute, or undefined. */
export function parseTime(time: string): { hour: number; minute: number } | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(time.trim());
  if (!m) return undefined;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  if (hour > 23 || minute > 59) return undefined;
  return { hour, minute };
}

/** Why the frequency cannot be scheduled, in the person's words; undefined when it can. */
export function problem(f: Frequency): string | undefined {
  switch (f.kind) {
    case "every":
      if (!Number.isInteger(f.n) || f.n < 1) return "Enter a whole number, 1 or more.";
      if (f.n > MAX_RATE) return `At most ${MAX_RATE.toLocaleString("en-US")}.`;
      return undefined;
    case "weekly":
      if (f.days.length === 0) return "Pick at least one day.";
      return parseTime(f.time) ? undefined : "Enter a time as HH:MM.";
    case "monthly":
      if (f.day !== "last" && (!Number.isInteger(f.day) || f.day < 1 || f.day > 31)) return "Pick a day from 1 to 31.";
      return parseTime(f.time) ? undefined : "Enter a time as HH:MM.";
    case "daily":
      return parseTime(f.time) ? undefined : "Enter a time as HH:MM.";
  }
}

/**
 * The EventBridge expression, or undefined while the frequency is incomplete. Cron fields:
 * minutes hours day-of-month month day-of-week year, with exactly one of day-of-month and
 * day-of-week `?` (AWS refuses both or neither).
 */
export function toExpression(f: Frequency): string | undefined {
  if (problem(f)) return undefined;
  if (f.kind === "every") {
    const unit = f.n === 1 ? f.unit.slice(0, -1) : f.unit;
    return `rate(${f.n} ${unit})`;
  }
  const t = parseTime(f.time);
  if (!t) return undefined;
  switch (f.kind) {
    case "daily":
      return `cron(${t.minute} ${t.hour} * * ? *)`;
    case "weekly": {
      const days = WEEKDAYS.filter((d) => f.days.includes(d));
      return `cron(${t.minute} ${t.hour} ? * ${days.join(",")} *)`;
    }
    case "monthly":
      return `cron(${t.minute} ${t.hour} ${f.day === "last" ? "L" : f.day} * ? *)`;
  }
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${s}`;
}

function list(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

/** The frequency in words (`Every Monday and Friday at 09:00`). */
export function describe(f: Frequency): string {
  switch (f.kind) {
    case "every": {
      const unit = f.n === 1 ? f.unit.slice(0, -1) : f.unit;
      return f.n === 1 ? `Every ${unit}` : `Every ${f.n} ${unit}`;
    }
    case "daily":
      return `Every day at ${f.time}`;
    case "weekly":
      return `Every ${list(WEEKDAYS.filter((d) => f.days.includes(d)).map((d) => WEEKDAY_NAMES[d]))} at ${f.time}`;
    case "monthly":
      return `On the ${f.day === "last" ? "last day" : ordinal(f.day)} of every month at ${f.time}`;
  }
}

/** The browser's time zone (a schedule's default), UTC when the browser names none. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The IANA zones the browser knows, with UTC (Chromium leaves it out of the list). */
export function timeZones(): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return known.includes("UTC") ? known : ["UTC", ...known];
}
