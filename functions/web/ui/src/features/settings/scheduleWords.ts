// A schedule's EventBridge expression in words ("Every weekday at 09:00 (Europe/Berlin)"),
// so a revenue-ops person can read when it fires without knowing cron. Pure: tested alone.

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const DAY_CODES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];
const MONTH_CODES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const ORDINAL_WORDS = ["", "first", "second", "third", "fourth", "fifth"];

/** "a, b and c". */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** 1 → "1st", 22 → "22nd". */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${["th", "st", "nd", "rd"][n % 10] ?? "th"}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `rate(5 minutes)` → "Every 5 minutes"; undefined when it is not a rate. */
export function rateInWords(expression: string): string | undefined {
  const m = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/i.exec(expression.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase().replace(/s$/, "");
  return n === 1 ? `Every ${unit}` : `Every ${n} ${unit}s`;
}

/** Whole numbers from a list field ("1,15", "MON-FRI", "2-4"), or undefined when it has a step or anything else. */
function values(field: string, min: number, max: number, codes?: readonly string[], codeBase = 0): number[] | undefined {
  const one = (t: string): number | undefined => {
    const i = codes ? codes.indexOf(t.toUpperCase()) : -1;
    const n = i >= 0 ? i + codeBase : /^\d+$/.test(t) ? Number(t) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  };
  const out: number[] = [];
  for (const part of field.split(",")) {
    const range = part.split("-");
    if (range.length === 1) {
      const n = one(part);
      if (n === undefined) return undefined;
      out.push(n);
    } else if (range.length === 2) {
      const a = one(range[0] ?? "");
      const b = one(range[1] ?? "");
      if (a === undefined || b === undefined || b < a) return undefined;
      for (let n = a; n <= b; n++) out.push(n);
    } else {
      return undefined;
    }
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

// "*/15" or "0/15" → 15 (a step from the start); undefined otherwise.
function step(field: string): number | undefined {
  const m = /^(\*|0)\/(\d+)$/.exec(field);
  return m?.[2] ? Number(m[2]) : undefined;
}

const any = (field: string) => field === "*" || field === "?";

interface Days {
  /** "Every Monday" (leads a sentence). */
  lead: string;
  /** " on Mondays" (follows a frequency: "Every 15 minutes on Mondays"); "" for every day. */
  trail: string;
}

function weekdays(field: string): Days | undefined {
  const nth = /^([A-Za-z]{3}|[1-7])#([1-5])$/.exec(field);
  if (nth?.[1] && nth[2]) {
    const d = values(nth[1], 1, 7, DAY_CODES, 1)?.[0];
    if (d === undefined) return undefined;
    const words = `the ${ORDINAL_WORDS[Number(nth[2])]} ${DAY_NAMES[d - 1]} of every month`;
    return { lead: `On ${words}`, trail: ` on ${words}` };
  }
  const last = /^([A-Za-z]{3}|[1-7])L$/.exec(field);
  if (last?.[1]) {
    const d = values(last[1], 1, 7, DAY_CODES, 1)?.[0];
    if (d === undefined) return undefined;
    const words = `the last ${DAY_NAMES[d - 1]} of every month`;
    return { lead: `On ${words}`, trail: ` on ${words}` };
  }
  // EventBridge numbers days 1 (Sunday) to 7 (Saturday).
  const days = values(field, 1, 7, DAY_CODES, 1);
  if (!days) return undefined;
  const key = days.join(",");
  if (key === "1,2,3,4,5,6,7") return { lead: "Every day", trail: "" };
  if (key === "2,3,4,5,6") return { lead: "Every weekday (Monday to Friday)", trail: " on weekdays" };
  if (key === "1,7") return { lead: "Every Saturday and Sunday", trail: " on weekends" };
  const names = days.map((d) => DAY_NAMES[d - 1] ?? "");
  return { lead: `Every ${listWords(names)}`, trail: ` on ${listWords(names.map((n) => `${n}s`))}` };
}

function monthDays(field: string): Days | undefined {
  let words: string | undefined;
  if (field === "L") words = "the last day of every month";
  else if (/^\d+W$/.test(field)) {
    const d = Number(field.slice(0, -1));
    if (d >= 1 && d <= 31) words = `the weekday nearest the ${ordinal(d)} of every month`;
  } else {
    const days = values(field, 1, 31);
    if (days) words = `the ${listWords(days.map(ordinal))} of every month`;
  }
  return words ? { lead: `On ${words}`, trail: ` on ${words}` } : undefined;
}

/** The time-of-day part: " at 09:00", or a frequency within the day. */
function timesOfDay(minute: string, hour: string): { at?: string; every?: string } | undefined {
  const minutes = values(minute, 0, 59);
  const hours = values(hour, 0, 23);
  const minuteStep = step(minute);
  const hourStep = step(hour);
  if (minutes && hours) {
    if (hours.length * minutes.length > 6) return undefined;
    const times = hours.flatMap((h) => minutes.map((m) => `${pad(h)}:${pad(m)}`));
    return { at: ` at ${listWords(times)}` };
  }
  if (minutes?.length === 1 && hour === "*") {
    const m = minutes[0] ?? 0;
    return { every: m === 0 ? "Every hour, on the hour" : `Every hour at ${pad(m)} minutes past` };
  }
  if (minutes?.length === 1 && hourStep) {
    return { every: `Every ${hourStep} hours at ${pad(minutes[0] ?? 0)} minutes past (from 00:${pad(minutes[0] ?? 0)})` };
  }
  if (minute === "*" && hour === "*") return { every: "Every minute" };
  if (minuteStep && hour === "*") return { every: minuteStep === 1 ? "Every minute" : `Every ${minuteStep} minutes` };
  if (minuteStep && hours) {
    const first = hours[0] ?? 0;
    const end = hours[hours.length - 1] ?? 23;
    const contiguous = hours.length === end - first + 1;
    if (!contiguous) return undefined;
    return { every: `Every ${minuteStep} minutes from ${pad(first)}:00 to ${pad(end)}:59` };
  }
  return undefined;
}

/**
 * `cron(0 9 ? * MON-FRI *)` → "Every weekday (Monday to Friday) at 09:00"; undefined for
 * a cron this formatter does not read (the caller shows the expression itself).
 */
export function cronInWords(expression: string): string | undefined {
  const m = /^cron\((.*)\)$/i.exec(expression.trim());
  if (!m?.[1]) return undefined;
  const fields = m[1].trim().split(/\s+/);
  if (fields.length !== 6) return undefined;
  const [minute = "", hour = "", dom = "", month = "", dow = "", year = ""] = fields;

  let days: Days | undefined;
  if (any(dom) && any(dow)) days = { lead: "Every day", trail: "" };
  else if (any(dom)) days = weekdays(dow);
  else if (any(dow)) days = monthDays(dom);
  if (!days) return undefined;

  let months = "";
  if (!any(month)) {
    const ms = values(month, 1, 12, MONTH_CODES, 1);
    if (!ms) return undefined;
    months = ` in ${listWords(ms.map((x) => MONTH_NAMES[x - 1] ?? ""))}`;
    // "Every day in March" reads well; "On the 1st of every month in March" says "of March".
    days = {
      lead: days.lead.replace("of every month", "of the month"),
      trail: days.trail.replace("of every month", "of the month"),
    };
  }
  let years = "";
  if (!any(year)) {
    const ys = values(year, 1970, 2199);
    if (!ys || ys.length > 3) return undefined;
    years = ` in ${listWords(ys.map(String))}`;
  }

  const time = timesOfDay(minute, hour);
  if (!time) return undefined;
  if (time.at) return `${days.lead}${months}${years}${time.at}`;
  return `${time.every}${days.trail}${months}${years}`;
}

/**
 * The expression in words with the time zone it is read in: "Every day at 09:00
 * (Europe/Berlin)". A rate runs from when the schedule was made, in no time zone.
 * Anything this cannot read comes back as itself, marked.
 */
export function scheduleInWords(expression: string, timezone: string | null | undefined): string {
  const rate = rateInWords(expression);
  if (rate) return rate;
  const cron = cronInWords(expression);
  if (cron) return `${cron} (${timezone || "UTC"})`;
  return `Custom schedule: ${expression} (${timezone || "UTC"})`;
}
