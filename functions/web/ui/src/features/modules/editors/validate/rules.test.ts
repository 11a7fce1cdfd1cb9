// The validate editor's rules are exactly what the API expects: every kind as picked is a
// valid Rule, rules built as a person builds them (with fix steps) are accepted by the
// engine and flag the records they should, and the documented configs round trip.
import { describe, expect, it } from "vitest";
import { keyed, unkeyed } from "../filter/useSynced";
import { docExamples, refusedPointers, schemaErrors, stewardPreview } from "../filter/testing";
import { changeFunction, setParam, stepsClaim } from "../transform/steps";
import { RULE_KINDS, changeRuleKind, emptyValidate, nextRule, requiresWhen, rulesClaim, setMessage, setRequiresWhen, type Rule, type RuleKind, type ValidateConfig } from "./rules";

function pick(field: string, kind: RuleKind, params: Record<string, unknown> = {}): Rule {
  let rule = changeRuleKind({ rule: "required", field }, kind);
  for (const [k, v] of Object.entries(params)) rule = setParam(rule, k, v);
  return rule;
}

describe("picking a rule kind", () => {
  it("offers every kind the API has", () => {
    expect(RULE_KINDS.map((k) => k.rule).sort()).toEqual(["email", "length", "one_of", "phone", "range", "regex", "required", "requires"]);
  });

  it.each(RULE_KINDS.map((k) => [k.rule]))("%s keeps the field and message and is a valid rule", (kind) => {
    const rule = changeRuleKind({ rule: "required", field: "email", message: "needs one" }, kind);
    expect(rule.rule).toBe(kind);
    expect(rule.rule === "requires" ? rule.then_required : rule.field).toBe("email");
    expect(rule.message).toBe("needs one");
    expect(schemaErrors("Rule", rule)).toEqual([]);
  });

  it("removes an emptied message (the API refuses an empty one)", () => {
    const rule = setMessage(pick("email", "email"), "needs a real address");
    expect(rule.message).toBe("needs a real address");
    expect(setMessage(rule, "")).toEqual({ rule: "email", field: "email" });
  });

  it("switches requires between 'is filled' and 'holds a value', keeping the field", () => {
    const r = pick("country", "requires", { if_present: "state" }) as Extract<Rule, { rule: "requires" }>;
    expect(requiresWhen(r)).toBe("present");
    const eq = setRequiresWhen(r, "equals");
    expect(eq).toEqual({ rule: "requires", then_required: "country", if_equals: { field: "state", value: "" } });
    expect(requiresWhen(eq)).toBe("equals");
    expect(setRequiresWhen(eq, "present")).toEqual({ rule: "requires", then_required: "country", if_present: "state" });
  });

  it("adds a rule on the last rule's field; a new template is valid as it is", () => {
    expect(nextRule([pick("phone", "phone")])).toEqual({ rule: "required", field: "phone" });
    expect(emptyValidate("Contact").rules.map((r) => r.rule === "requires" ? "" : r.field)).toEqual(["Email", "Email"]);
    expect(schemaErrors("ValidateConfig", emptyValidate("contacts"))).toEqual([]);
  });
});

describe("the documented configs", () => {
  const configs = docExamples("validate").flatMap((ex): ValidateConfig[] => {
    const e = ex as Record<string, unknown>;
    const c = (e.config ?? e) as Record<string, unknown>;
    return "rules" in c ? [c as unknown as ValidateConfig] : [];
  });
  it("has examples to read", () => expect(configs.length).toBeGreaterThanOrEqual(2));
  it.each(configs.map((c) => [c.rules.map((r) => r.rule).join(", "), c] as const))("round trips [%s]", (_n, config) => {
    expect(schemaErrors("ValidateConfig", config)).toEqual([]);
    const back: ValidateConfig = { ...config, rules: unkeyed(keyed(config.rules)), ...(config.fix ? { fix: unkeyed(keyed(config.fix)) } : {}) };
    expect(back).toEqual(config);
  });
});

describe("the engine (steward run) on rules built in the editor", { timeout: 60_000 }, () => {
  it("accepts a rule of every kind and flags the records that fail, fixing what the fix can", () => {
    const requires = setRequiresWhen(pick("country", "requires") as Extract<Rule, { rule: "requires" }>, "equals");
    const rules: Rule[] = [
      pick("email", "required"),
      setMessage(pick("email", "email"), "needs a real address"),
      pick("phone", "phone", { region: "US", format: "e164" }),
      pick("stage", "one_of", { values: ["lead", "customer"] }),
      pick("zip", "regex", { pattern: "^\\d{5}$" }),
      pick("name", "length", { min: 2, max: 20 }),
      pick("score", "range", { min: 0, max: 100 }),
      { ...requires, if_equals: { field: "state", value: "CA" } },
    ];
    const fix = [setParam(changeFunction({ field: "email", fn: "trim" }, "email"), "field", "email")];
    const config: ValidateConfig = { object: "contacts", rules, fix };
    expect(schemaErrors("ValidateConfig", config)).toEqual([]);
    const csv = [
      "id,email,phone,stage,zip,name,score,state,country",
      "1,ann@example.com,+16502530000,lead,02139,Ann,50,CA,US",
      "2, Bob@Example.com,+16502530000,lead,02139,Bob,50,,",
      "3,carl@,+16502530000,lead,02139,Carl,50,,",
      "4,dee@example.com,555-1234,Lead,2139,D,150,CA,",
    ].join("\n");
    const out = stewardPreview({ module: "validate", name: "every rule", config }, csv);
    expect(out.refused).toBeUndefined();
    expect(out.ids).toEqual(["2", "3", "4"]);
    const byId = Object.fromEntries(out.rows.map((r) => [r.record_id, r]));
    expect(byId["2"]?.action).toBe("update");
    expect(byId["2"]?.["email (after)"]).toBe("bob@example.com");
    expect(byId["3"]?.note).toContain("email: needs a real address");
    for (const reason of ["phone:", "stage:", "zip:", "name:", "score:", "country:"]) expect(byId["4"]?.note).toContain(reason);
  });

  it("refuses a rule left half-filled at the rule's own key, where the editor shows it", () => {
    const config: ValidateConfig = { object: "contacts", rules: [pick("email", "required"), pick("stage", "one_of")] };
    const out = stewardPreview({ module: "validate", name: "half", config }, "id,email,stage\n1,a,b\n");
    expect(out.refused).toContain("/config/rules/1/values");
    for (const p of refusedPointers(out.refused)) expect(rulesClaim(config.rules, p), p).toBe(true);
  });

  it("refuses a fix step left half-filled under /config/fix, where the fix list shows it", () => {
    const fix = [changeFunction({ field: "email", fn: "trim" }, "default")];
    const config: ValidateConfig = { object: "contacts", rules: [pick("email", "required")], fix };
    const out = stewardPreview({ module: "validate", name: "half fix", config }, "id,email\n1,a\n");
    expect(out.refused).toContain("/config/fix/0/value");
    for (const p of refusedPointers(out.refused)) expect(stepsClaim(fix, "/config/fix", p), p).toBe(true);
  });
});
