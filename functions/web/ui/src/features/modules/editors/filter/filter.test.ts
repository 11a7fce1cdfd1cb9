// The filter builder produces exactly the Filter the API expects: valid against the API's
// own schema, accepted by the engine, matching the records a person would expect, and a
// documented filter read into the builder comes back unchanged.
import { describe, expect, it } from "vitest";
import {
  ALL_OPERATORS,
  addItem,
  arity,
  changeField,
  changeOperator,
  emptyGroup,
  filterClaims,
  fromFilter,
  newCondition,
  operatorsFor,
  pointers,
  removeNode,
  toFilter,
  updateNode,
  type ConditionNode,
  type FieldType,
  type Filter,
  type GroupNode,
  type Scalar,
} from "./filter";
import { docExamples, refusedPointers, schemaErrors, stewardPreview } from "./testing";

const FIELD_TYPES: FieldType[] = ["text", "number", "bool", "date", "date_time", "enumeration", "email", "phone", "url", "reference", "id", "other"];

/** A value a person would type for a field of this type. */
function sample(t: FieldType | undefined, i = 0): Scalar {
  if (t === "number") return [10, 100][i] ?? 10;
  if (t === "date" || t === "date_time") return ["2024-01-01", "2024-01-31"][i] ?? "2024-01-01";
  if (t === "bool") return "true";
  return ["lead", "customer"][i] ?? "lead";
}

/** The condition a person builds: pick the field, the operator, then type the value(s). */
function build(field: string, t: FieldType | undefined, op: ConditionNode["op"], values?: Scalar[]): ConditionNode {
  const c = changeOperator(changeField(newCondition(), field, t), op);
  switch (arity(op)) {
    case "none":
      return c;
    case "one":
      return { ...c, value: values?.[0] ?? sample(t) };
    case "two":
      return { ...c, value: values ?? [sample(t, 0), sample(t, 1)] };
    case "many":
      return { ...c, value: values ?? [sample(t, 0), sample(t, 1)] };
  }
}

function rootOf(...items: GroupNode["items"]): GroupNode {
  return { ...emptyGroup("all"), items };
}

describe("operators per field type", () => {
  it("offers text operators for text-like fields and range operators for numbers and dates", () => {
    expect(operatorsFor("text")).toEqual(["eq", "neq", "contains", "starts_with", "in", "is_empty", "not_empty"]);
    for (const t of ["email", "phone", "url"] as const) expect(operatorsFor(t)).toEqual(operatorsFor("text"));
    for (const t of ["number", "date", "date_time"] as const) expect(operatorsFor(t)).toEqual(["eq", "neq", "gt", "lt", "gte", "lte", "between", "is_empty", "not_empty"]);
    expect(operatorsFor("enumeration")).toEqual(["eq", "neq", "in", "is_empty", "not_empty"]);
    expect(operatorsFor("bool")).toContain("eq");
    expect(operatorsFor("bool")).not.toContain("contains");
    expect(operatorsFor(undefined)).toEqual(ALL_OPERATORS);
  });

  it("every operator offered for every field type builds a filter valid against the API's schema", () => {
    for (const t of FIELD_TYPES)
      for (const op of operatorsFor(t)) {
        const f = toFilter(rootOf(build("f", t, op)));
        expect(schemaErrors("Filter", f), `${t} ${op}: ${JSON.stringify(f)}`).toEqual([]);
      }
  });

  it("declares number and date types, and never a type or value on is_empty / not_empty", () => {
    expect(toFilter(rootOf(build("amount", "number", "gt", [100])))).toEqual({ field: "amount", op: "gt", value: 100, type: "number" });
    expect(toFilter(rootOf(build("createdate", "date_time", "lt", ["2024-01-01"])))).toEqual({ field: "createdate", op: "lt", value: "2024-01-01", type: "date" });
    expect(toFilter(rootOf(build("amount", "number", "is_empty")))).toEqual({ field: "amount", op: "is_empty" });
    expect(toFilter(rootOf(build("stage", "enumeration", "in", ["lead", "customer"])))).toEqual({ field: "stage", op: "in", value: ["lead", "customer"] });
  });
});

describe("editing a condition", () => {
  it("keeps what fits of the value when the operator changes", () => {
    const eq = build("amount", "number", "eq", [5]);
    expect(changeOperator(eq, "between").value).toEqual([5, ""]);
    expect(changeOperator(eq, "in").value).toEqual([5]);
    expect(changeOperator(changeOperator(eq, "between"), "gt").value).toBe(5);
    expect(changeOperator(eq, "is_empty").value).toBeUndefined();
  });

  it("drops case sensitivity when the comparison is no longer text", () => {
    const c: ConditionNode = { ...build("firstname", "text", "eq", ["Ann"]), case_sensitive: true };
    expect(toFilter(rootOf(c))).toEqual({ field: "firstname", op: "eq", value: "Ann", case_sensitive: true });
    expect(changeOperator(c, "is_empty").case_sensitive).toBeUndefined();
  });

  it("a new field resets the operator when its type does not offer it, and starts a yes/no field at true", () => {
    const contains = build("firstname", "text", "contains", ["an"]);
    const onNumber = changeField(contains, "amount", "number");
    expect(onNumber.op).toBe("eq");
    expect(onNumber.type).toBe("number");
    expect(changeField(contains, "optin", "bool").value).toBe("true");
    expect(changeField(onNumber, "firstname", "text").type).toBeUndefined();
  });
});

describe("groups", () => {
  it("writes a lone condition bare, an OR root as any, nested groups as they are, and no conditions as no filter", () => {
    const a = build("firstname", "text", "eq", ["Ann"]);
    const b = build("amount", "number", "gt", [100]);
    expect(toFilter(emptyGroup())).toBeUndefined();
    expect(toFilter(rootOf(a))).toEqual({ field: "firstname", op: "eq", value: "Ann" });
    expect(toFilter({ ...rootOf(a), join: "any" })).toEqual({ any: [{ field: "firstname", op: "eq", value: "Ann" }] });
    let root = rootOf(a);
    const inner = { ...emptyGroup("any"), items: [b] };
    root = addItem(root, root.key, inner);
    expect(toFilter(root)).toEqual({ all: [{ field: "firstname", op: "eq", value: "Ann" }, { any: [{ field: "amount", op: "gt", value: 100, type: "number" }] }] });
    expect(schemaErrors("Filter", toFilter(root))).toEqual([]);
    root = removeNode(root, a.key);
    expect(toFilter(root)).toEqual({ all: [{ any: [{ field: "amount", op: "gt", value: 100, type: "number" }] }] });
    root = updateNode(root, inner.key, (g) => ({ ...(g as GroupNode), join: "all" }));
    expect(toFilter(root)).toEqual({ all: [{ all: [{ field: "amount", op: "gt", value: 100, type: "number" }] }] });
  });

  it("names each condition by the pointer the API's errors use", () => {
    const f: Filter = { all: [{ field: "a", op: "eq", value: "x" }, { any: [{ field: "b", op: "is_empty" }, { field: "c", op: "gt", value: 1 }] }] };
    const root = fromFilter(f);
    const ptrs = pointers(root, "/config/filter");
    const group = root.items[1] as GroupNode;
    expect(ptrs.get(root.items[0]?.key ?? "")).toBe("/config/filter/all/0");
    expect(ptrs.get(group.key)).toBe("/config/filter/all/1");
    expect(ptrs.get(group.items[1]?.key ?? "")).toBe("/config/filter/all/1/any/1");
    const lone = fromFilter({ field: "a", op: "eq", value: "x" });
    expect(pointers(lone, "/config/filter").get(lone.items[0]?.key ?? "")).toBe("/config/filter");
  });
});

describe("which errors the builder shows beside an input", () => {
  const f: Filter = { all: [{ field: "a", op: "eq", value: "x" }, { any: [{ field: "c", op: "between", value: [1, 2] }] }] };
  it("claims a condition's own keys and a group's list, not what it has no input for", () => {
    for (const p of ["/config/filter", "/config/filter/all", "/config/filter/all/0/field", "/config/filter/all/1/any", "/config/filter/all/1/any/0/value/1", "/config/filter/all/1/any/0/type"])
      expect(filterClaims(f, "/config/filter", p), p).toBe(true);
    for (const p of ["/config/filter/all/2/field", "/config/filter/all/0/bogus", "/config/filter/any/0/field", "/config/actions/0"]) expect(filterClaims(f, "/config/filter", p), p).toBe(false);
    expect(filterClaims({ field: "a", op: "eq", value: "" }, "/config/filter", "/config/filter/value")).toBe(true);
  });
});

describe("the documented filters", () => {
  const filters = [...docExamples("bulk"), ...docExamples("grid")].flatMap((ex): Filter[] => {
    if (typeof ex !== "object" || ex === null || Array.isArray(ex)) return [];
    const e = ex as Record<string, unknown>;
    const config = (e.config ?? e) as Record<string, unknown>;
    if ("all" in e || "any" in e || "op" in e) return [e as Filter];
    return config.filter ? [config.filter as Filter] : [];
  });

  it("has examples to read", () => expect(filters.length).toBeGreaterThanOrEqual(5));

  it.each(filters.map((f) => [JSON.stringify(f), f] as const))("round trips %s", (_name, f) => {
    expect(schemaErrors("Filter", f)).toEqual([]);
    const back = toFilter(fromFilter(f));
    expect(back).toEqual(f);
  });
});

describe("the engine (steward run) on filters built in the builder", { timeout: 60_000 }, () => {
  const csv = [
    "id,firstname,lifecyclestage,amount,createdate,optin",
    "1,Ann,lead,50,2023-05-02T10:00:00Z,true",
    "2,Bob,customer,150,2024-02-01,false",
    "3,,subscriber,,2024-01-15,",
    "4,Dana,Lead,100,2024-01-31T23:00:00Z,false",
  ].join("\n");
  const cases: [string, GroupNode, string[]][] = [
    ["first name contains an (any case)", rootOf(build("firstname", "text", "contains", ["AN"])), ["1", "4"]],
    ["amount is greater than 100", rootOf(build("amount", "number", "gt", [100])), ["2"]],
    ["amount equals 100.0 as a number", rootOf(build("amount", "number", "eq", [100.0])), ["4"]],
    ["amount between 10 and 100", rootOf(build("amount", "number", "between", [10, 100])), ["1", "4"]],
    ["created before 2024", rootOf(build("createdate", "date_time", "lt", ["2024-01-01"])), ["1"]],
    ["created in January 2024", rootOf(build("createdate", "date_time", "between", ["2024-01-01", "2024-01-31"])), ["3", "4"]],
    ["stage is any of lead, subscriber", rootOf(build("lifecyclestage", "enumeration", "in", ["lead", "subscriber"])), ["1", "3", "4"]],
    ["opted in", rootOf(build("optin", "bool", "eq")), ["1"]],
    ["first name is empty", rootOf(build("firstname", "text", "is_empty")), ["3"]],
    ["amount over 100 or no first name", { ...rootOf(build("amount", "number", "gt", [100]), build("firstname", "text", "is_empty")), join: "any" }, ["2", "3"]],
    ["a lead and (created in 2024 or amount under 60)", nested(), ["1", "4"]],
  ];
  /** A group the person adds inside the root: lead AND (created in 2024 OR amount < 60). */
  function nested(): GroupNode {
    const root = rootOf(build("lifecyclestage", "enumeration", "eq", ["lead"]));
    const group = { ...emptyGroup("any"), items: [build("createdate", "date_time", "gte", ["2024-01-01"]), build("amount", "number", "lt", [60])] };
    return addItem(root, root.key, group);
  }

  it.each(cases)("%s", (_name, root, expected) => {
    const filter = toFilter(root);
    const config = { object: "contacts", ...(filter ? { filter } : {}), actions: [{ set: { field: "firstname", value: "Checked" } }] };
    expect(schemaErrors("BulkConfig", config)).toEqual([]);
    const out = stewardPreview({ module: "bulk", name: "filter", config }, csv);
    expect(out.refused).toBeUndefined();
    expect(out.ids.sort()).toEqual(expected);
  });

  it("refuses a half-built condition at the pointer the builder shows it at", () => {
    const root = rootOf(build("firstname", "text", "eq", ["Ann"]), { ...build("amount", "number", "gt"), value: "" });
    const out = stewardPreview({ module: "bulk", name: "bad", config: { object: "contacts", filter: toFilter(root), actions: [{ clear: { field: "firstname" } }] } }, csv);
    const ptr = pointers(root, "/config/filter").get(root.items[1]?.key ?? "");
    expect(ptr).toBe("/config/filter/all/1");
    expect(out.refused).toContain(`${ptr}/value`);
    const reported = refusedPointers(out.refused);
    expect(reported.length).toBeGreaterThan(0);
    for (const p of reported) expect(filterClaims(toFilter(root), "/config/filter", p), p).toBe(true);
  });
});
