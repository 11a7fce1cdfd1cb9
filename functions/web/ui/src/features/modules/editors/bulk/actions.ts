// Bulk actions as the editor changes them: what kind each is, switching kinds (the field
// stays), the input a set value needs, and a new template's config.
import type { components } from "../../../../api/schema";
import { filterClaims, fromFilter, toFilter, type FieldType, type GroupNode, type InputKind } from "../filter/filter";
import { keyed, unkeyed, type Keyed } from "../filter/useSynced";

export type BulkAction = components["schemas"]["BulkAction"];
export type BulkConfig = components["schemas"]["BulkConfig"];
export type ActionKind = "set" | "clear" | "copy" | "archive" | "delete";

export function actionKind(action: BulkAction): ActionKind {
  if ("set" in action) return "set";
  if ("clear" in action) return "clear";
  if ("copy" in action) return "copy";
  if ("archive" in action) return "archive";
  return "delete";
}

/** The field the action writes ("" for archive). */
export function writtenField(action: BulkAction): string {
  if ("set" in action) return action.set.field;
  if ("clear" in action) return action.clear.field;
  if ("copy" in action) return action.copy.to;
  return "";
}

/** What the person sees for each kind; archive's name is the CRM's (HubSpot archives, Salesforce deletes to the recycle bin). */
export function actionKinds(crm: string | undefined): { value: ActionKind; label: string }[] {
  return [
    { value: "set", label: "Set a value" },
    { value: "clear", label: "Clear the field" },
    { value: "copy", label: "Copy from another field" },
    { value: "archive", label: crm === "salesforce" ? "Delete (to the recycle bin)" : "Archive the record" },
  ];
}

/** The action after the person picks another kind: the written field stays. */
export function changeActionKind(action: BulkAction, kind: ActionKind): BulkAction {
  const field = writtenField(action);
  switch (kind) {
    case "set":
      return { set: { field, value: "" } };
    case "clear":
      return { clear: { field } };
    case "copy":
      return { copy: { from: "", to: field } };
    case "archive":
      return { archive: {} };
    case "delete":
      return { delete: {} };
  }
}

/** The input a set value needs for a field of this type. */
export function setInputKind(fieldType: FieldType | undefined): InputKind {
  switch (fieldType) {
    case "number":
      return "number";
    case "date":
      return "date";
    case "date_time":
      return "datetime";
    case "bool":
      return "bool";
    case "enumeration":
      return "picklist";
    default:
      return "text";
  }
}

/** A new template: every record (no filter yet), one value to set. */
export function emptyBulk(object: string): BulkConfig {
  return { object, actions: [{ set: { field: "", value: "" } }] };
}

/** A new action added at the end. */
export function nextAction(): BulkAction {
  return { set: { field: "", value: "" } };
}

/** Whether the actions archive (or delete), which stands alone. */
export function archives(actions: readonly BulkAction[]): boolean {
  return actions.some((a) => "archive" in a || "delete" in a);
}

/** The bulk editor's state: the filter as the builder's tree, the actions with React keys. */
export interface BulkState {
  object: string;
  filter: GroupNode;
  actions: Keyed<BulkAction>[];
}

export function bulkState(config: BulkConfig): BulkState {
  return { object: config.object, filter: fromFilter(config.filter), actions: keyed(config.actions) };
}

export function bulkConfig(state: BulkState): BulkConfig {
  const filter = toFilter(state.filter);
  return { object: state.object, ...(filter ? { filter } : {}), actions: unkeyed(state.actions) };
}

/** Whether the bulk editor shows the API's error at `pointer` beside an input. */
export function bulkClaims(config: BulkConfig, pointer: string): boolean {
  if (pointer === "/config/object" || pointer === "/config/actions") return true;
  if (pointer === "/config/filter" || pointer.startsWith("/config/filter/")) return filterClaims(config.filter, "/config/filter", pointer);
  const m = /^\/config\/actions\/(\d+)(?:\/([a-z]+)(?:\/([a-z]+)(?:\/\d+)?)?)?$/.exec(pointer);
  const action = m ? config.actions[Number(m[1])] : undefined;
  if (!m || !action) return false;
  const [, , kind, key] = m;
  if (kind === undefined) return true;
  if (kind !== actionKind(action)) return false;
  if (key === undefined) return true;
  const keys: Record<ActionKind, string[]> = { set: ["field", "value"], clear: ["field"], copy: ["from", "to"], archive: ["keep"], delete: ["keep"] };
  return keys[actionKind(action)].includes(key);
}
