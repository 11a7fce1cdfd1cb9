// The merge editor's edits produce exactly the config the API expects: each config here is
// checked against MergeConfig from the API's own OpenAPI document (target/openapi.json).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import {
  addComparison,
  addMasterRule,
  addRuleSet,
  changeObject,
  claims,
  emptyConfig,
  fieldRule,
  moveMasterRule,
  removeComparison,
  removeFieldRule,
  removeMasterRule,
  removeRuleSet,
  rulesOf,
  renameFieldRule,
  renameRuleSet,
  setCompare,
  setFieldRule,
  setFields,
  setMasterMode,
  setMasterRuleKind,
  setMaxGroupSize,
  setNormalizer,
  setOption,
  setReadOnly,
  setSurvivorshipDefault,
  updateComparison,
  updateMasterRule,
  type MergeConfig,
} from "./config";

const document = JSON.parse(readFileSync(resolve(__dirname, "../../../../../../../../target/openapi.json"), "utf8")) as {
  components: { schemas: Record<string, unknown> };
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// The Rust types' integer and float formats (schemars), checked as their ranges.
const uint = (max: number) => ({ type: "number" as const, validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= max });
ajv.addFormat("uint", uint(Number.MAX_SAFE_INTEGER));
ajv.addFormat("uint64", uint(Number.MAX_SAFE_INTEGER));
ajv.addFormat("uint32", uint(2 ** 32 - 1));
ajv.addFormat("uint8", uint(255));
ajv.addFormat("double", { type: "number", validate: (n: number) => Number.isFinite(n) });
ajv.addSchema({ $id: "steward", components: document.components });
const validateMerge = ajv.getSchema("steward#/components/schemas/MergeConfig");
if (!validateMerge) throw new Error("target/openapi.json has no MergeConfig");

function expectValid(config: MergeConfig) {
  const ok = validateMerge?.(config);
  expect(validateMerge?.errors ?? [], JSON.stringify(config)).toEqual([]);
  expect(ok).toBe(true);
}

/** docs/modules/merge.md's config, as the API documents it. */
const documented: MergeConfig = {
  object: "contacts",
  rules: [
    { name: "same email", all: [{ fields: ["email", "work_email"], compare: "normalized", as: "email", ignore_dots: true, ignore_plus: true }] },
    {
      name: "same phone, similar last name",
      all: [
        { field: "phone", compare: "normalized", as: "phone", default_region: "US", region_field: "country" },
        { field: "lastname", compare: "similar", as: "name", threshold: 0.85 },
      ],
    },
    {
      name: "same company, similar name",
      all: [
        { field: "company", compare: "normalized", as: "company" },
        { field: "lastname", compare: "similar", as: "name", threshold: 0.9 },
        { field: "firstname", compare: "first_chars", n: 1 },
      ],
    },
  ],
  master: {
    mode: "by_priority",
    rules: [
      { rule: "priority", field: "lifecyclestage", values: ["customer", "opportunity", "lead"] },
      { rule: "oldest_created" },
    ],
  },
  survivorship: { default: "master_unless_empty", fields: { hs_tags: "union", jobtitle: "newest" } },
  read_only: ["lifecyclestage"],
  max_group_size: 10,
};

describe("the API's schema itself", () => {
  it("accepts the documented example and refuses a wrong one (the check can fail)", () => {
    expectValid(documented);
    expect(validateMerge({ ...documented, rules: [{ all: [{ field: "email", compare: "close" }] }] })).toBe(false);
    expect(validateMerge({ ...documented, colour: "red" })).toBe(false);
  });
});

describe("a new template", () => {
  it.each(["contacts", "companies", "Contact", "Account", "Lead", "deals"])("on %s is a config the API reads", (object) => {
    const config = emptyConfig(object);
    expectValid(config);
    expect(config.object).toBe(object);
    expect(config.rules).toHaveLength(1);
  });

  it("matches HubSpot contacts by email and Salesforce contacts by Email", () => {
    expect(rulesOf(emptyConfig("contacts"))[0]?.all).toEqual([{ field: "email", compare: "normalized", as: "email" }]);
    expect(rulesOf(emptyConfig("Contact"))[0]?.all).toEqual([{ field: "Email", compare: "normalized", as: "email" }]);
    expect(emptyConfig("contacts").master).toEqual({ mode: "by_priority", rules: [{ rule: "oldest_created" }, { rule: "most_complete" }] });
  });

  it("starts over on another object, keeping the group size", () => {
    const c = changeObject(setMaxGroupSize(emptyConfig("contacts"), 5), "companies");
    expect(c).toEqual({ ...emptyConfig("companies"), max_group_size: 5 });
  });
});

describe("building the documented config with the editor's edits", () => {
  it("gives exactly the documented config, which the API's schema accepts", () => {
    let c: MergeConfig = emptyConfig("contacts");
    // Rule set 1: the email over two related fields, Gmail dots and +tags ignored.
    c = renameRuleSet(c, 0, "same email");
    c = updateComparison(c, 0, 0, (x) => setFields(x, ["email", "work_email"]));
    c = updateComparison(c, 0, 0, (x) => setOption(setOption(x, "ignore_dots", true), "ignore_plus", true));
    // Rule set 2: phone AND similar last name.
    c = addRuleSet(c);
    c = renameRuleSet(c, 1, "same phone, similar last name");
    c = updateComparison(c, 1, 0, (x) => setNormalizer(setFields(x, ["phone"]), "phone"));
    c = updateComparison(c, 1, 0, (x) => setOption(setOption(x, "default_region", "US"), "region_field", "country"));
    c = addComparison(c, 1);
    c = updateComparison(c, 1, 1, (x) => setNormalizer(setCompare(setFields(x, ["lastname"]), "similar"), "name"));
    c = updateComparison(c, 1, 1, (x) => setOption(x, "threshold", 0.85));
    // Rule set 3: same company, similar last name, same first letter.
    c = addRuleSet(c);
    c = renameRuleSet(c, 2, "same company, similar name");
    c = updateComparison(c, 2, 0, (x) => setNormalizer(setFields(x, ["company"]), "company"));
    c = addComparison(c, 2);
    c = updateComparison(c, 2, 1, (x) => setNormalizer(setCompare(setFields(x, ["lastname"]), "similar"), "name"));
    c = addComparison(c, 2);
    c = updateComparison(c, 2, 2, (x) => setCompare(setFields(x, ["firstname"]), "first_chars"));
    c = updateComparison(c, 2, 2, (x) => setCompare(setOption(x, "n", 1), "exact"));
    c = updateComparison(c, 2, 2, (x) => setOption(setCompare(x, "first_chars"), "n", 1));
    // Master: priority by lifecycle stage first, then the oldest.
    c = removeMasterRule(c, 1);
    c = addMasterRule(c);
    c = setMasterRuleKind(c, 1, "priority");
    c = updateMasterRule(c, 1, { rule: "priority", field: "lifecyclestage", values: ["customer", "opportunity", "lead"] });
    c = moveMasterRule(c, 1, -1);
    // Survivorship, read-only, group size.
    c = setSurvivorshipDefault(c, fieldRule("master_unless_empty"));
    c = setFieldRule(c, "hs_tags", fieldRule("union"));
    c = setFieldRule(c, "title", fieldRule("newest"));
    c = renameFieldRule(c, "title", "jobtitle");
    c = setReadOnly(c, ["lifecyclestage"]);
    c = setMaxGroupSize(c, 10);

    expect(c).toEqual(documented);
    expectValid(c);
  });

  it("gives the documented config back unchanged when it is loaded and its values picked again", () => {
    let c = structuredClone(documented);
    c = updateComparison(c, 0, 0, (x) => setFields(x, ["email", "work_email"]));
    c = updateComparison(c, 1, 0, (x) => setNormalizer(setFields(x, ["phone"]), "phone"));
    c = updateComparison(c, 1, 1, (x) => setCompare(x, "similar"));
    c = updateComparison(c, 2, 2, (x) => setCompare(x, "first_chars"));
    c = setMasterMode(c, "by_priority");
    c = setFieldRule(c, "hs_tags", fieldRule("union"));
    c = renameFieldRule(c, "jobtitle", "jobtitle");
    expect(JSON.stringify(c)).toBe(JSON.stringify(documented));
  });
});

describe("each edit", () => {
  it("a comparison kind drops the keys it does not take and adds those it needs", () => {
    const similar = setCompare({ field: "lastname", compare: "normalized", as: "name" }, "similar");
    expect(similar).toEqual({ field: "lastname", compare: "similar", as: "name", threshold: 0.9 });
    const exact = setCompare({ ...similar, method: "levenshtein" }, "exact");
    expect(exact).toEqual({ field: "lastname", compare: "exact" });
    expect(setCompare(exact, "first_words")).toEqual({ field: "lastname", compare: "first_words", n: 1 });
    for (const x of [similar, exact, setCompare(exact, "first_words")]) expectValid({ ...emptyConfig("contacts"), rules: [{ all: [x] }] });
  });

  it("a normalizer drops the email and phone options that are not its own", () => {
    const email = { field: "email", compare: "normalized" as const, as: "email" as const, ignore_dots: true, ignore_plus: true };
    expect(setNormalizer(email, "text")).toEqual({ field: "email", compare: "normalized", as: "text" });
    const phone = { field: "phone", compare: "normalized" as const, as: "phone" as const, default_region: "US", region_field: "country" };
    expect(setNormalizer(phone, "email")).toEqual({ field: "phone", compare: "normalized", as: "email" });
  });

  it("one field is `field`, several are `fields`, and a loaded `fields` form stays", () => {
    const one = setFields({ field: "email", compare: "exact" }, ["email", "work_email"]);
    expect(one).toEqual({ fields: ["email", "work_email"], compare: "exact" });
    expect(setFields(one, ["email"])).toEqual({ fields: ["email"], compare: "exact" });
    expect(setFields({ field: "a", compare: "exact" }, ["b"])).toEqual({ field: "b", compare: "exact" });
  });

  it("rule sets and comparisons are added and removed at their place", () => {
    let c = addRuleSet(emptyConfig("contacts"));
    expect(rulesOf(c).map((r) => r.name)).toEqual(["Same email", "Rule 2"]);
    c = addComparison(c, 0);
    expect(rulesOf(c)[0]?.all).toHaveLength(2);
    c = removeComparison(c, 0, 0);
    expect(rulesOf(c)[0]?.all[0]?.field).toBe("");
    c = removeRuleSet(c, 0);
    expect(rulesOf(c).map((r) => r.name)).toEqual(["Rule 2"]);
    c = renameRuleSet(c, 0, "");
    expect(rulesOf(c)[0]).not.toHaveProperty("name");
  });

  it("master rules move within the list and never past its ends", () => {
    let c = emptyConfig("contacts");
    c = addMasterRule(c);
    expect(c.master?.rules?.map((r) => r.rule)).toEqual(["oldest_created", "most_complete", "last_modified"]);
    c = moveMasterRule(c, 2, -1);
    expect(c.master?.rules?.map((r) => r.rule)).toEqual(["oldest_created", "last_modified", "most_complete"]);
    c = moveMasterRule(c, 0, -1);
    expect(c.master?.rules?.map((r) => r.rule)).toEqual(["oldest_created", "last_modified", "most_complete"]);
    c = setMasterMode(c, "absolute");
    expect(c.master?.mode).toBe("absolute");
    expectValid(c);
  });

  it("a master rule on a config without `master` starts from the API's defaults", () => {
    const c = addMasterRule({ object: "contacts", rules: [{ all: [{ field: "email", compare: "exact" }] }] });
    expect(c.master).toEqual({ mode: "by_priority", rules: [{ rule: "oldest_created" }, { rule: "most_complete" }, { rule: "last_modified" }] });
  });

  it("survivorship: concatenate carries its separator; the last field rule removed leaves no empty map", () => {
    let c = setFieldRule(emptyConfig("contacts"), "notes", fieldRule("concatenate", "\n"));
    expect(c.survivorship?.fields).toEqual({ notes: { rule: "concatenate", separator: "\n" } });
    expectValid(c);
    c = removeFieldRule(c, "notes");
    expect(c.survivorship).toEqual({});
    expectValid(c);
  });
});

describe("errors the editor shows beside an input", () => {
  const c = documented;
  it.each([
    ["/config/rules/0/all/0/fields/1", true],
    ["/config/rules/1/all/1/threshold", true],
    ["/config/rules/1/all/0/region_field", true],
    ["/config/rules/2/all/2/threshold", false],
    ["/config/master/rules/0/values", true],
    ["/config/survivorship/fields/jobtitle", true],
    ["/config/survivorship/fields/nope", false],
    ["/config/max_group_size", true],
    ["/config/cross_object/lead_object", false],
    ["/name", false],
  ])("%s → %s", (pointer, shown) => {
    expect(claims(c, pointer)).toBe(shown);
  });
});
