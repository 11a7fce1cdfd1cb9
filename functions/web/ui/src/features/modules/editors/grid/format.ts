// How a cell's CRM value reads in the grid: dates and datetimes in the person's locale and
// time zone; everything else as the CRM holds it (the editor always edits the raw value).
import type { CrmField } from "../../../../components/crm";
import { isDate, isDateTime } from "./checks";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatCell(field: Pick<CrmField, "type"> | undefined, value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (field?.type === "date" && isDate(value)) return dateFormat.format(new Date(`${value.trim()}T00:00:00Z`));
  if (field?.type === "date_time") {
    const t = Date.parse(value);
    if (isDateTime(value) || !Number.isNaN(t)) return Number.isNaN(t) ? value : dateTimeFormat.format(new Date(t));
  }
  return value;
}
