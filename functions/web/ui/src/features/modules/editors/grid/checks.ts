// A cell's value checked against its field's type the way the API checks a grid edit
// (`grid::check_value`), so a person sees "expected a number" in the cell as they type,
// not after pressing Run. The messages are the API's own words.
import type { CrmField } from "../../../../components/crm";

/** Rust's `f64::from_str` after trimming, finite: `-2.5`, `1e3`, `.5`, `5.` yes; `1,5`, `0x10` no. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isNumber(value: string): boolean {
  const v = value.trim();
  return NUMBER.test(v) && Number.isFinite(Number(v));
}

/** `YYYY-MM-DD` naming a real day (`2024-02-30` is not). */
export function isDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

/** Strict RFC 3339: `2024-01-31T09:00:00Z`, `2024-01-31T10:00:00.5+01:00` (a `T`, never a space). */
export function isDateTime(value: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(value);
  if (!m || !isDate(m[1] ?? "")) return false;
  const [h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (h > 23 || mi > 59 || s > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}

/** One `@`, something before it, a dotted domain after it, no spaces (the CRM has the last word). */
export function isEmail(value: string): boolean {
  const at = value.indexOf("@");
  if (at < 0) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  const labels = domain.split(".");
  return (
    value.length <= 254 &&
    local.length > 0 &&
    !domain.includes("@") &&
    !/[\s\u0000-\u001f\u007f]/u.test(value) &&
    labels.length >= 2 &&
    labels.every((l) => l.length > 0)
  );
}

type Checked = Pick<CrmField, "type" | "options">;

/**
 * Why `value` cannot be written to `field`, or undefined when it can. An empty value
 * clears the cell and is always fine.
 */
export function checkValue(field: Checked, value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const got = (what: string) => `expected ${what}, got ${JSON.stringify(value)}`;
  switch (field.type) {
    case "number":
      return isNumber(value) ? undefined : got("a number");
    case "bool":
      return ["true", "false"].includes(value.trim().toLowerCase()) ? undefined : got("true or false");
    case "date":
      return isDate(value) ? undefined : got("a date (YYYY-MM-DD)");
    case "date_time":
      return isDateTime(value) ? undefined : got("a datetime (RFC 3339, such as 2024-01-31T09:00:00Z)");
    case "enumeration":
      return field.options.length === 0 || field.options.includes(value) ? undefined : got(`one of ${field.options.join(", ")}`);
    case "email":
      return isEmail(value) ? undefined : got("an email address (name@example.com)");
    default:
      return undefined;
  }
}
