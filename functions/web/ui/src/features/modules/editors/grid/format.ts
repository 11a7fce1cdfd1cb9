// How a cell's CRM value reads in the grid: dates and datetimes in the person's locale and
// time zone; everything else as the CRM holds it (the editor always edits the raw value).
import type { CrmField } from "../../../../components/crm";
import { isDate, isDateTime } from "./checks";

/** Salesforce writes `2024-01-31T10:00:00.000+0000` (no colon in the offset). */
const SALESFORCE_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{4}$/;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatCell(field: Pick<CrmField, "type"> | undefined, value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (field?.type === "date" && isDate(value)) return dateFormat.format(new Date(`${value.trim()}T00:00:00Z`));
  // Only a well-formed instant is reformatted: a wrong value reads as typed.
  if (field?.type === "date_time" && (isDateTime(value) || SALESFORCE_DATETIME.test(value))) {
    const t = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    if (!Number.isNaN(t)) return dateTimeFormat.format(new Date(t));
  }
  return value;
}
