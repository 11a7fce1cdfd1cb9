// The score part of the merge editor: each edit gives the config the API reads, checked
// against MergeConfig from the API's own OpenAPI document (target/openapi.json).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { emptyConfig, rulesOf, type MergeConfig } from "./config";
import {
  addBlockingKey,
  addScoreField,
  emptyScore,
  forgetModel,
  fromPercent,
  matchMode,
  removeScoreField,
  saveModel,
  scoreClaims,
  setBlockingKey,
  setMatchMode,
  setScoreCompare,
  setScoreOption,
  setThreshold,
  thresholdWords,
  toPercent,
  updateScoreField,
  type ScoreModel,
} from "./score";

const document = JSON.parse(readFileSync(resolve(__dirname, "../../../../../../../../target/openapi.json"), "utf8")) as {
  components: { schemas: Record<string, unknown> };
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
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

const rulesStart = () => rulesOf(emptyConfig("contacts"));
const model: ScoreModel = { prior: 0.002, fields: [{ field: "email", levels: [{ level: "exact", m: 0.9, u: 0.001 }, { level: "different", m: 0.1, u: 0.999 }] }] };

describe("how records are matched: rules, score, or both", () => {
  it("a new template matches by rules; switching to score drops the rules and starts the object's usual fields", () => {
    const rules = emptyConfig("contacts");
    expect(matchMode(rules)).toBe("rules");
    const score = setMatchMode(rules, "score", rulesStart);
    expect(matchMode(score)).toBe("score");
    expect(score).not.toHaveProperty("rules");
    expect(score.score).toEqual(emptyScore("contacts"));
    expect(score.score?.fields.map((f) => f.field)).toEqual(["firstname", "lastname", "email", "phone"]);
    expectValid(score);
  });
  it("both keeps the score and brings rules back; rules alone drops the score", () => {
    const both = setMatchMode(setMatchMode(emptyConfig("contacts"), "score", rulesStart), "both", rulesStart);
    expect(matchMode(both)).toBe("both");
    expect(rulesOf(both)).toEqual(rulesStart());
    expectValid(both);
    const rules = setMatchMode(both, "rules", rulesStart);
    expect(rules).not.toHaveProperty("score");
    expect(rulesOf(rules)).toHaveLength(1);
    expectValid(rules);
  });
  it("Salesforce contacts start with their own field names", () => {
    expect(emptyScore("Contact").fields[0]).toEqual({ field: "FirstName", compare: "name", swap_with: "LastName" });
  });
});

describe("building the documented score with the editor's edits", () => {
  it("gives exactly the brief's example, which the API's schema accepts", () => {
    let c = setMatchMode(emptyConfig("contacts"), "score", rulesStart);
    c = removeScoreField(removeScoreField(c, 3), 2);
    c = updateScoreField(c, 1, (f) => setScoreCompare(setScoreOption(f, "field", "phone"), "phone"));
    c = updateScoreField(c, 1, (f) => setScoreOption(setScoreOption(f, "default_region", "US"), "region_field", "country"));
    c = setThreshold(c, "merge_threshold", fromPercent(99));
    c = setThreshold(c, "review_threshold", fromPercent(90));
    c = addBlockingKey(c, ["email"]);
    c = addBlockingKey(c, ["lastname"]);
    c = setBlockingKey(c, 1, ["lastname", "date_of_birth"]);
    expect(c.score).toEqual({
      fields: [
        { field: "firstname", compare: "name", swap_with: "lastname" },
        { field: "phone", compare: "phone", default_region: "US", region_field: "country" },
      ],
      merge_threshold: 0.99,
      review_threshold: 0.9,
      blocking: [["email"], ["lastname", "date_of_birth"]],
    });
    expectValid(c);
    expectValid(saveModel(c, model));
    // The check can fail: a kind the API lacks, an unknown key.
    expect(validateMerge({ ...c, score: { ...c.score, fields: [{ field: "email", compare: "fuzzy" }] } })).toBe(false);
    expect(validateMerge({ ...c, score: { ...c.score, weights: {} } })).toBe(false);
  });
  it("a kind drops the options only another kind takes", () => {
    const f = { field: "firstname", compare: "name" as const, swap_with: "lastname" };
    expect(setScoreCompare(f, "text")).toEqual({ field: "firstname", compare: "text" });
    const p = { field: "phone", compare: "phone" as const, default_region: "US", region_field: "country" };
    expect(setScoreCompare(p, "code")).toEqual({ field: "phone", compare: "code" });
    expect(setScoreOption(f, "swap_with", undefined)).toEqual({ field: "firstname", compare: "name" });
  });
  it("a new field, a removed key, a cleared threshold: each gone from the config, not left empty", () => {
    let c = setMatchMode(emptyConfig("contacts"), "score", rulesStart);
    c = addScoreField(c);
    expect(c.score?.fields.at(-1)).toEqual({ field: "", compare: "text" });
    c = addBlockingKey(c, ["email"]);
    c = setBlockingKey(c, 0, []);
    expect(c.score).not.toHaveProperty("blocking");
    c = setThreshold(c, "review_threshold", fromPercent(""));
    expect(c.score).not.toHaveProperty("review_threshold");
  });
  it("saved weights are forgotten, so the next run learns again", () => {
    const c = saveModel(setMatchMode(emptyConfig("contacts"), "score", rulesStart), model);
    expect(c.score?.model).toEqual(model);
    expect(forgetModel(c).score).not.toHaveProperty("model");
  });
});

describe("thresholds as a person reads them", () => {
  it("are percents both ways, without float noise", () => {
    expect(toPercent(0.99)).toBe(99);
    expect(toPercent(0.995)).toBe(99.5);
    expect(toPercent(0.07)).toBe(7);
    expect(fromPercent(99.5)).toBe(0.995);
    expect(fromPercent(7)).toBe(0.07);
    expect(fromPercent("")).toBeUndefined();
    expect(toPercent(null)).toBeUndefined();
  });
  it("say the band in words", () => {
    expect(thresholdWords({ fields: [], merge_threshold: 0.99, review_threshold: 0.5 })).toMatch(/at least 99% likely the same are merged\. Pairs between 50% and 99% are listed/);
    expect(thresholdWords({ fields: [], merge_threshold: 0.95, review_threshold: 0.95 })).toMatch(/none are sent to you for review/);
  });
});

describe("the API's problems under /config/score", () => {
  it("are shown beside the input that exists, else left to the page's alert", () => {
    const c = setMatchMode(emptyConfig("contacts"), "score", rulesStart);
    expect(scoreClaims(c, "/config/score/fields/0/swap_with")).toBe(true);
    expect(scoreClaims(c, "/config/score/fields/2/swap_with")).toBe(false); // email: no such input
    expect(scoreClaims(c, "/config/score/fields/3/default_region")).toBe(true);
    expect(scoreClaims(c, "/config/score/fields/9/field")).toBe(false);
    expect(scoreClaims(c, "/config/score/review_threshold")).toBe(true);
    expect(scoreClaims(c, "/config/score/blocking/0")).toBe(false);
    expect(scoreClaims(addBlockingKey(c, ["email"]), "/config/score/blocking/0/0")).toBe(true);
    expect(scoreClaims(emptyConfig("contacts"), "/config/score/merge_threshold")).toBe(false);
  });
});
