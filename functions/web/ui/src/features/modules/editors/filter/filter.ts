// The filter builder's state and its exact conversion to and from the API's Filter
// (`{"all": [..]}` / `{"any": [..]}` / a condition), plus what a field's type allows.
import type { components } from "../../../../api/schema";

type S = components["schemas"];
export type Filter = S["Filter"];
export type Operator = S["Operator"];
export type ValueType = S["ValueType"];
export type FieldType = S["FieldType"];
export type Scalar = string | number | boolean;
export type Condition = Extract<Filter, { field: string }>;

/** A group the person sees: every (`all`) or any (`any`) of its items. */
export interface GroupNode {
  kind: "group";
  key: string;
  join: "all" | "any";
  items: FilterNode[];
}
/** A condition as the API writes it, plus a key for React. */
export interface ConditionNode {
  kind: "condition";
  key: string;
  field: string;
  op: Operator;
  value?: Scalar | Scalar[];
  type?: ValueType;
  case_sensitive?: boolean;
}
export type FilterNode = GroupNode | ConditionNode;

let counter = 0;
export function newKey(): string {
  counter += 1;
  return `n${counter}`;
}

export function emptyGroup(join: "all" | "any" = "all"): GroupNode {
  return { kind: "group", key: newKey(), join, items: [] };
}

/** A new condition on `field` (its operator, value type and an empty value chosen by type). */
export function newCondition(field = "", fieldType?: FieldType): ConditionNode {
  return changeField({ kind: "condition", key: newKey(), field, op: "eq" }, field, fieldType);
}

/**
 * The builder's tree for a filter: always a group at the root (a lone condition becomes
 * the only item of an `all` group), so there is one place to add conditions.
 */
export function fromFilter(filter: Filter | null | undefined): GroupNode {
  if (!filter) return emptyGroup();
  const node = nodeOf(filter);
  return node.kind === "group" ? node : { kind: "group", key: newKey(), join: "all", items: [node] };
}

function nodeOf(filter: Filter): FilterNode {
  if ("all" in filter) return { kind: "group", key: newKey(), join: "all", items: filter.all.map(nodeOf) };
  if ("any" in filter) return { kind: "group", key: newKey(), join: "any", items: filter.any.map(nodeOf) };
  const node: ConditionNode = { kind: "condition", key: newKey(), field: filter.field, op: filter.op };
  if (filter.value !== undefined) node.value = Array.isArray(filter.value) ? [...filter.value] : filter.value;
  if (filter.type !== undefined) node.type = filter.type;
  if (filter.case_sensitive !== undefined) node.case_sensitive = filter.case_sensitive;
  return node;
}

/**
 * The API's filter for the tree, or undefined when it has no conditions (every record).
 * A root `all` group of one condition is written as that condition. Nested groups are
 * written as they are, even empty, so the API's error points at the group on screen.
 */
export function toFilter(root: GroupNode): Filter | undefined {
  if (root.items.length === 0) return undefined;
  const only = root.items[0];
  if (root.items.length === 1 && root.join === "all" && only?.kind === "condition") return conditionOf(only);
  return filterOf(root);
}

function filterOf(node: FilterNode): Filter {
  if (node.kind === "condition") return conditionOf(node);
  const items = node.items.map(filterOf);
  return node.join === "all" ? { all: items } : { any: items };
}

function conditionOf(node: ConditionNode): Condition {
  const c: Condition = { field: node.field, op: node.op };
  if (node.op === "is_empty" || node.op === "not_empty") return c;
  if (node.value !== undefined) c.value = Array.isArray(node.value) ? [...node.value] : node.value;
  if (node.type !== undefined && !(TEXT_ONLY.includes(node.op) && node.type !== "text")) c.type = node.type;
  if (node.case_sensitive !== undefined && comparesText(node)) c.case_sensitive = node.case_sensitive;
  return c;
}

/** The JSON pointer of each node, as the API names it in errors (`/config/filter/all/1/any/0`). */
export function pointers(root: GroupNode, base: string): Map<string, string> {
  const out = new Map<string, string>();
  const only = root.items[0];
  if (root.items.length === 1 && root.join === "all" && only?.kind === "condition") {
    out.set(root.key, base);
    out.set(only.key, base);
    return out;
  }
  const walk = (node: FilterNode, ptr: string) => {
    out.set(node.key, ptr);
    if (node.kind === "group") node.items.forEach((n, i) => walk(n, `${ptr}/${node.join}/${i}`));
  };
  walk(root, base);
  return out;
}

// ---- operators and values by field type ----

const TEXT_ONLY: Operator[] = ["contains", "starts_with"];
const NO_VALUE: Operator[] = ["is_empty", "not_empty"];
const RANGE: Operator[] = ["gt", "lt", "gte", "lte", "between"];

export const OPERATOR_LABELS: Record<Operator, string> = {
  eq: "is",
  neq: "is not",
  contains: "contains",
  starts_with: "starts with",
  in: "is any of",
  is_empty: "is empty",
  not_empty: "is not empty",
  gt: "is greater than",
  lt: "is less than",
  gte: "is at least",
  lte: "is at most",
  between: "is between",
};

const DATE_LABELS: Partial<Record<Operator, string>> = {
  gt: "is after",
  lt: "is before",
  gte: "is on or after",
  lte: "is on or before",
  between: "is between",
  eq: "is on",
  neq: "is not on",
};

export const ALL_OPERATORS = Object.keys(OPERATOR_LABELS) as Operator[];

/** The operators offered for a field of this type (every one when the type is unknown). */
export function operatorsFor(fieldType: FieldType | undefined): Operator[] {
  switch (fieldType) {
    case "text":
    case "email":
    case "phone":
    case "url":
    case "reference":
    case "other":
      return ["eq", "neq", "contains", "starts_with", "in", "is_empty", "not_empty"];
    case "id":
      return ["eq", "neq", "in", "is_empty", "not_empty"];
    case "number":
    case "date":
    case "date_time":
      return ["eq", "neq", "gt", "lt", "gte", "lte", "between", "is_empty", "not_empty"];
    case "bool":
      return ["eq", "is_empty", "not_empty"];
    case "enumeration":
      return ["eq", "neq", "in", "is_empty", "not_empty"];
    default:
      return ALL_OPERATORS;
  }
}

export function operatorLabel(op: Operator, kind: InputKind): string {
  return (kind === "date" ? DATE_LABELS[op] : undefined) ?? OPERATOR_LABELS[op];
}

/** The `type` a new condition on a field of this type declares (so `10` equals `10.0`, and a date compares by day). */
export function valueTypeFor(fieldType: FieldType | undefined): ValueType | undefined {
  if (fieldType === "number") return "number";
  if (fieldType === "date" || fieldType === "date_time") return "date";
  return undefined;
}

/** The input a value is typed in. */
export type InputKind = "text" | "number" | "date" | "datetime" | "bool" | "picklist";

export function inputKind(node: Pick<ConditionNode, "type">, fieldType: FieldType | undefined): InputKind {
  if (node.type === "number") return "number";
  if (node.type === "date") return "date";
  if (node.type === "datetime") return "datetime";
  if (fieldType === "bool") return "bool";
  if (fieldType === "enumeration") return "picklist";
  if (fieldType === "number" && node.type === undefined) return "number";
  if ((fieldType === "date" || fieldType === "date_time") && node.type === undefined) return "date";
  return "text";
}

/** How many values an operator takes. */
export function arity(op: Operator): "none" | "one" | "two" | "many" {
  if (NO_VALUE.includes(op)) return "none";
  if (op === "between") return "two";
  if (op === "in") return "many";
  return "one";
}

/** Whether the condition compares text (so case sensitivity applies). */
export function comparesText(node: Pick<ConditionNode, "op" | "type">): boolean {
  return ["eq", "neq", "contains", "starts_with", "in"].includes(node.op) && (node.type === undefined || node.type === "text");
}

export function isRange(op: Operator): boolean {
  return RANGE.includes(op);
}

function withType(node: ConditionNode, fieldType: FieldType | undefined): ConditionNode {
  const rest = omit(node, "type");
  const t = valueTypeFor(fieldType);
  return t === undefined ? rest : { ...rest, type: t };
}

/** Keeps what fits of the value when the operator changes (one value ↔ a list ↔ two bounds). */
function withValueShape(node: ConditionNode, op: Operator): ConditionNode {
  const { value, ...rest } = node;
  const first = Array.isArray(value) ? value[0] : value;
  switch (arity(op)) {
    case "none":
      return { ...rest, op };
    case "one":
      return { ...rest, op, value: first ?? "" };
    case "two":
      return { ...rest, op, value: [first ?? "", Array.isArray(value) ? (value[1] ?? "") : ""] };
    case "many":
      return { ...rest, op, value: Array.isArray(value) ? value.filter((v) => v !== "") : first === undefined || first === "" ? [] : [first] };
  }
}

/**
 * The condition after the person picks another field: the operator stays when the new
 * field's type offers it; the value type follows the field; the value starts empty (a
 * yes/no field starts at "true").
 */
export function changeField(node: ConditionNode, field: string, fieldType: FieldType | undefined): ConditionNode {
  const ops = operatorsFor(fieldType);
  const op = ops.includes(node.op) ? node.op : (ops[0] ?? "eq");
  const rest = omit(node, "case_sensitive", "value", "type");
  const next = withValueShape(withType({ ...rest, field }, fieldType), op);
  return fieldType === "bool" && arity(op) === "one" ? { ...next, value: "true" } : next;
}

export function changeOperator(node: ConditionNode, op: Operator): ConditionNode {
  const next = withValueShape(node, op);
  return comparesText(next) ? next : omit(next, "case_sensitive");
}

// ---- tree edits (immutable, by key) ----

export function updateNode(root: GroupNode, key: string, update: (n: FilterNode) => FilterNode | null): GroupNode {
  const walk = (node: FilterNode): FilterNode | null => {
    if (node.key === key) return update(node);
    if (node.kind === "condition") return node;
    const items = node.items.map(walk).filter((n): n is FilterNode => n !== null);
    return { ...node, items };
  };
  return (walk(root) as GroupNode | null) ?? emptyGroup();
}

export function addItem(root: GroupNode, groupKey: string, item: FilterNode): GroupNode {
  return updateNode(root, groupKey, (g) => (g.kind === "group" ? { ...g, items: [...g.items, item] } : g));
}

export function removeNode(root: GroupNode, key: string): GroupNode {
  return updateNode(root, key, () => null);
}

/** Counts the conditions in the tree. */
export function conditionCount(node: FilterNode): number {
  return node.kind === "condition" ? 1 : node.items.reduce((n, i) => n + conditionCount(i), 0);
}

/** `obj` without `keys` (an optional key absent, not undefined, as the API wants). */
export function omit<T extends object, K extends keyof T>(obj: T, ...keys: K[]): Omit<T, K> {
  const next = { ...obj };
  for (const k of keys) delete next[k];
  return next;
}

/** Structural equality of two API values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Whether the builder shows the API's error at `pointer` beside a part of `filter` (at
 * `base`): a group's own list, a condition's field, operator, value(s), type or case.
 */
export function filterClaims(filter: Filter | null | undefined, base: string, pointer: string): boolean {
  if (pointer === base) return true;
  if (!filter || !pointer.startsWith(`${base}/`)) return false;
  const root = fromFilter(filter);
  const byPtr = new Map<string, FilterNode>();
  for (const node of walk(root)) {
    const p = pointers(root, base).get(node.key);
    if (p !== undefined && !(node === root && byPtr.has(p))) byPtr.set(p, node);
  }
  for (const [p, node] of byPtr) {
    if (pointer === p) return true;
    const rest = pointer.startsWith(`${p}/`) ? pointer.slice(p.length + 1) : undefined;
    if (rest === undefined) continue;
    if (node.kind === "group" && rest === node.join) return true;
    if (node.kind === "condition" && /^(field|op|type|case_sensitive|value(\/\d+)?)$/.test(rest)) return true;
  }
  return false;
}

function* walk(node: FilterNode): Generator<FilterNode> {
  if (node.kind === "group") for (const item of node.items) yield* walk(item);
  yield node;
}
