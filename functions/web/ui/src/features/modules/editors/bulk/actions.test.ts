// The bulk editor's config is exactly what the API expects: every action kind as picked is
// valid, a config built as a person builds it (filter and actions) is accepted by the
// engine and changes the records it should, and the documented configs round trip.
import { describe, expect, it } from "vitest";
import { addItem, changeField, changeOperator, emptyGroup, newCondition } from "../filter/filter";
import { docExamples, refusedPointers, schemaErrors, stewardPreview } from "../filter/testing";
import { keyed } from "../filter/useSynced";
import { actionKind, actionKinds, archives, bulkClaims, bulkConfig, bulkState, changeActionKind, emptyBulk, setInputKind, type ActionKind, type BulkConfig } from "./actions";

describe("picking an action", () => {
  it("names archive as each CRM does it", () => {
    expect(actionKinds("hubspot").map((k) => k.label)).toContain("Archive the record");
    expect(actionKinds("salesforce").map((k) => k.label)).toContain("Delete (to the recycle bin)");
  });

  it.each((["set", "clear", "copy", "archive", "delete"] as ActionKind[]).map((k) => [k]))("%s keeps the written field and is a valid action", (kind) => {
    const action = changeActionKind({ set: { field: "phone", value: "1" } }, kind);
    expect(actionKind(action)).toBe(kind);
    if ("clear" in action) expect(action.clear.field).toBe("phone");
    if ("copy" in action) expect(action.copy.to).toBe("phone");
    expect(schemaErrors("BulkAction", action)).toEqual([]);
  });

  it("types the new value's input by the field", () => {
    expect(setInputKind("number")).toBe("number");
    expect(setInputKind("enumeration")).toBe("picklist");
    expect(setInputKind("bool")).toBe("bool");
    expect(setInputKind("date")).toBe("date");
    expect(setInputKind("text")).toBe("text");
  });

  it("knows when the actions archive", () => {
    expect(archives([{ archive: {} }])).toBe(true);
    expect(archives([{ delete: { keep: ["email"] } }])).toBe(true);
    expect(archives([{ clear: { field: "phone" } }])).toBe(false);
  });

  it("starts a new template with every record and one value to set, in the API's shape", () => {
    expect(emptyBulk("contacts")).toEqual({ object: "contacts", actions: [{ set: { field: "", value: "" } }] });
    expect(schemaErrors("BulkConfig", emptyBulk("contacts"))).toEqual([]);
  });
});

describe("which errors the bulk editor shows beside an input", () => {
  const config: BulkConfig = { object: "contacts", filter: { field: "a", op: "eq", value: "x" }, actions: [{ set: { field: "phone", value: "1" } }, { copy: { from: "a", to: "b" } }] };
  it("claims the object, the filter's parts and each action's own keys", () => {
    for (const p of ["/config/object", "/config/filter/value", "/config/actions", "/config/actions/0", "/config/actions/0/set/value", "/config/actions/1/copy/to"]) expect(bulkClaims(config, p), p).toBe(true);
    for (const p of ["/config/actions/0/copy/from", "/config/actions/2/set/field", "/config/filter/all/0/field", "/config/bogus"]) expect(bulkClaims(config, p), p).toBe(false);
  });
});

describe("the documented configs", () => {
  const configs = docExamples("bulk").flatMap((ex): BulkConfig[] => {
    const e = ex as Record<string, unknown>;
    const c = (e.config ?? e) as Record<string, unknown>;
    return "actions" in c ? [c as unknown as BulkConfig] : [];
  });
  it("has examples to read", () => expect(configs.length).toBeGreaterThanOrEqual(2));
  it.each(configs.map((c) => [JSON.stringify(c.filter), c] as const))("round trips the config filtered by %s", (_n, config) => {
    expect(schemaErrors("BulkConfig", config)).toEqual([]);
    expect(bulkConfig(bulkState(config))).toEqual(config);
  });
  it("writes no filter when the builder has no conditions", () => {
    expect(bulkConfig({ object: "contacts", filter: emptyGroup(), actions: keyed([{ clear: { field: "phone" } }]) })).toEqual({ object: "contacts", actions: [{ clear: { field: "phone" } }] });
  });
});

describe("the engine (steward run) on a bulk config built in the editor", { timeout: 60_000 }, () => {
  it("changes exactly the records the filter picks", () => {
    // The documented worked example, built with the builder: old leads and subscribers.
    const stage = { ...changeOperator(changeField(newCondition(), "lifecyclestage", "enumeration"), "in"), value: ["lead", "subscriber"] };
    const created = { ...changeOperator(changeField(newCondition(), "createdate", "date_time"), "lt"), value: "2024-01-01" };
    let root = emptyGroup();
    root = addItem(root, root.key, stage);
    root = addItem(root, root.key, created);
    const state = bulkState(emptyBulk("contacts"));
    const config = bulkConfig({
      ...state,
      filter: root,
      actions: keyed([
        { set: { field: "lifecyclestage", value: "other" } },
        changeActionKind({ set: { field: "phone", value: "" } }, "copy"),
      ]).map((k) => ("copy" in k.value ? { ...k, value: { copy: { ...k.value.copy, from: "mobilephone" } } } : k)),
    });
    expect(schemaErrors("BulkConfig", config)).toEqual([]);
    const csv = [
      "id,lifecyclestage,createdate,mobilephone,phone",
      "101,lead,2023-05-02T10:00:00Z,+33 6 12 34 56 78,",
      "102,Subscriber,2022-11-30,,555-0100",
      "103,lead,2024-02-01T09:00:00Z,+1 555 0199,",
      "104,customer,2021-07-14,+44 20 7946 0958,",
    ].join("\n");
    const out = stewardPreview({ module: "bulk", name: "worked example", config }, csv);
    expect(out.refused).toBeUndefined();
    expect(out.ids).toEqual(["101", "102"]);
    expect(out.rows[0]?.["phone (after)"]).toBe("'+33 6 12 34 56 78");
    expect(out.rows[1]?.["lifecyclestage (after)"]).toBe("other");
  });

  it("refuses an empty set value at the action's value, where the editor shows it", () => {
    const out = stewardPreview({ module: "bulk", name: "empty", config: emptyBulk("contacts") }, "id,firstname\n1,a\n");
    expect(out.refused).toContain("/config/actions/0/set/");
    for (const p of refusedPointers(out.refused)) expect(bulkClaims(emptyBulk("contacts"), p), p).toBe(true);
  });
});
