// The five modules as the console names them.
import type { ModuleId } from "../api/session";

export interface ModuleInfo {
  id: ModuleId;
  title: string;
  summary: string;
}

export const MODULES: readonly ModuleInfo[] = [
  { id: "merge", title: "Merge Duplicates", summary: "Find duplicate records and merge them into one" },
  { id: "bulk", title: "Bulk Operations", summary: "Update, clear or delete many records that match a filter" },
  { id: "transform", title: "Transform Data", summary: "Fix casing, phones, names and formats field by field" },
  { id: "grid", title: "Grid Edit", summary: "Edit records in a spreadsheet-like table" },
  { id: "validate", title: "Data Validation", summary: "Check records against rules and flag or fix what fails" },
];

export function moduleInfo(id: string): ModuleInfo | undefined {
  return MODULES.find((m) => m.id === id);
}
