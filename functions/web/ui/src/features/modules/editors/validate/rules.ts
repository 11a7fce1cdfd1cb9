// Validate rules as the editor changes them: the kinds offered, switching kinds (the
// field and message stay), `requires`' two conditions, and a new template's rules.
import type { components } from "../../../../api/schema";
import { knownField, setParam } from "../transform/steps";

export type Rule = components["schemas"]["Rule"];
export type RuleKind = Rule["rule"];
export type ValidateConfig = components["schemas"]["ValidateConfig"];

export const RULE_KINDS: { rule: RuleKind; label: string; hint: string }[] = [
  { rule: "required", label: "Is required", hint: "Fails when the field is empty." },
  { rule: "email", label: "Is a valid email", hint: "An empty value passes: add “Is required” for that." },
  { rule: "phone", label: "Is a valid phone number", hint: "Optionally also written in one format." },
  { rule: "one_of", label: "Is one of a list", hint: "The value must be one of the values listed." },
  { rule: "regex", label: "Matches a pattern (regex)", hint: "Anchor with ^…$ to match the whole value." },
  { rule: "length", label: "Has a length between", hint: "Counted in characters." },
  { rule: "range", label: "Is a number between", hint: "Fails on text that is no plain number." },
  { rule: "requires", label: "Requires another field", hint: "A field must be filled when another is filled, or holds a value." },
];

export function ruleField(rule: Rule): string {
  return rule.rule === "requires" ? rule.then_required : rule.field;
}

/** The rule after the person picks another kind: its field and message stay. */
export function changeRuleKind(rule: Rule, kind: RuleKind): Rule {
  const field = ruleField(rule);
  const message = rule.message ? { message: rule.message } : {};
  switch (kind) {
    case "regex":
      return { rule: kind, field, pattern: "", ...message };
    case "one_of":
      return { rule: kind, field, values: [], ...message };
    case "length":
      return { rule: kind, field, min: 1, ...message };
    case "range":
      return { rule: kind, field, min: 0, ...message };
    case "requires":
      return { rule: kind, then_required: field, if_present: "", ...message };
    default:
      return { rule: kind, field, ...message };
  }
}

/** The rule with its message; an empty message is removed (the API refuses one). */
export function setMessage(rule: Rule, message: string): Rule {
  return setParam(rule, "message", message === "" ? undefined : message);
}

export type RequiresWhen = "present" | "equals";
type Requires = Extract<Rule, { rule: "requires" }>;

export function requiresWhen(rule: Requires): RequiresWhen {
  return rule.if_equals ? "equals" : "present";
}

/** Switches a `requires` rule between "when X is filled" and "when X is V", keeping X. */
export function setRequiresWhen(rule: Requires, when: RequiresWhen): Requires {
  const { if_present, if_equals, ...rest } = rule;
  const field = if_present ?? if_equals?.field ?? "";
  return when === "present" ? { ...rest, if_present: field } : { ...rest, if_equals: { field, value: "" } };
}

/** A new template's rules: contacts need a real email address. */
export function starterRules(object: string): Rule[] {
  const email = knownField(object, "email");
  return [
    { rule: "required", field: email },
    { rule: "email", field: email },
  ];
}

export function emptyValidate(object: string): ValidateConfig {
  return { object, rules: starterRules(object) };
}

/** A new rule added at the end: on the last rule's field. */
export function nextRule(rules: readonly Rule[]): Rule {
  const last = rules[rules.length - 1];
  return { rule: "required", field: last ? ruleField(last) : "" };
}

const RULE_KEYS: Record<RuleKind, string[]> = {
  required: ["field"],
  email: ["field"],
  regex: ["field", "pattern", "ignore_case"],
  phone: ["field", "region", "format"],
  one_of: ["field", "values", "ignore_case"],
  length: ["field", "min", "max"],
  range: ["field", "min", "max"],
  requires: ["then_required", "if_present", "if_equals", "if_equals/field", "if_equals/value"],
};

/** Whether the rule list shows the API's error at `pointer` beside an input. */
export function rulesClaim(rules: readonly Rule[], pointer: string): boolean {
  if (pointer === "/config/rules") return true;
  const m = /^\/config\/rules\/(\d+)(?:\/(.+))?$/.exec(pointer);
  const rule = m ? rules[Number(m[1])] : undefined;
  if (!m || !rule) return false;
  const key = m[2]?.replace(/^values\/\d+$/, "values");
  return key === undefined || key === "rule" || key === "message" || (RULE_KEYS[rule.rule]?.includes(key) ?? false);
}
