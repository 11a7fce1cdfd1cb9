// Dates as the settings screens show them: in the person's own locale and time zone.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const zoneName = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" });
const relativeTime = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "3 Dec 2026, 14:05" in the browser's locale and zone; `otherwise` when there is no date. */
export function when(iso: string | null | undefined, otherwise = "Never"): string {
  if (!iso) return otherwise;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

const dayOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

/** The date and the time apart, for a narrow column: ["Dec 3, 2026", "3:37 PM"]. */
export function dayAndTime(iso: string): [string, string] {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? [iso, ""] : [dayOnly.format(d), timeOnly.format(d)];
}

/** As `when`, naming the browser's time zone ("… 8:00 AM (UTC)"): for times a schedule set in another zone. */
export function whenInZone(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const zone = zoneName.formatToParts(d).find((p) => p.type === "timeZoneName")?.value;
  return zone ? `${dateTime.format(d)} (${zone})` : dateTime.format(d);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** "in 3 hours", "2 days ago": how far `iso` is from `now`. */
export function fromNow(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(ms) >= size || unit === "minute") return relativeTime.format(Math.round(ms / size), unit);
  }
  return "";
}
