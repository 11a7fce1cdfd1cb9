// The transform editor's steps are exactly what the API expects: every function as picked
// is a valid Step, a template built as a person builds it is accepted by the engine and
// does what the functions say, and the documented configs round trip unchanged.
import { describe, expect, it } from "vitest";
import { keyed, unkeyed } from "../filter/useSynced";
import { docExamples, refusedPointers, schemaErrors, stewardPreview } from "../filter/testing";
import { FUNCTIONS, changeFunction, emptyTransform, localeRegion, moveItem, nextStep, param, setParam, starterSteps, stepsClaim, type Step, type StepFn, type TransformConfig } from "./steps";

/** Picks `fn` on a step of `field`, then sets its parameters. */
function pick(field: string, fn: StepFn, params: Record<string, unknown> = {}): Step {
  let step = changeFunction({ field, fn: "trim" }, fn, "US");
  for (const [k, v] of Object.entries(params)) step = setParam(step, k, v);
  return step;
}

describe("picking a function", () => {
  it.each(FUNCTIONS.map((f) => [f.fn]))("%s keeps the field and is a valid step", (fn) => {
    const step = changeFunction({ field: "phone", fn: "trim" }, fn);
    expect(step.field).toBe("phone");
    expect(step.fn).toBe(fn);
    expect(schemaErrors("Step", step)).toEqual([]);
  });

  it("offers every function the API has", () => {
    const schemaFns = ["trim", "upper", "lower", "title_case", "phone", "email", "country", "state", "split_name", "join", "copy", "replace", "remove", "date", "default", "domain"];
    expect(FUNCTIONS.map((f) => f.fn).sort()).toEqual(schemaFns.sort());
  });

  it("drops the old function's parameters", () => {
    const phone = pick("phone", "phone", { format: "national" });
    expect(changeFunction(phone, "trim")).toEqual({ field: "phone", fn: "trim" });
  });

  it("removes an optional parameter set back to its default, so the API's default applies", () => {
    const state = pick("state", "state", { country: "US" });
    expect(param(state, "country")).toBe("US");
    expect(setParam(state, "country", undefined)).toEqual({ field: "state", fn: "state", to: "code" });
  });

  it("reads the phone region from the person's locale", () => {
    expect(localeRegion("en-GB")).toBe("GB");
    expect(localeRegion("de")).toBe("DE");
    expect(localeRegion("not a locale!")).toBe("US");
  });
});

describe("which errors a step shows beside an input", () => {
  const steps = [pick("phone", "phone"), pick("name", "join", { from: ["a", "b"] })];
  it("claims a step's field, function and its own parameters, not another function's", () => {
    for (const p of ["/config/steps", "/config/steps/0", "/config/steps/0/field", "/config/steps/0/default_region", "/config/steps/1/from/1"]) expect(stepsClaim(steps, "/config/steps", p), p).toBe(true);
    for (const p of ["/config/steps/0/pattern", "/config/steps/2/field", "/config/fix/0/field"]) expect(stepsClaim(steps, "/config/steps", p), p).toBe(false);
  });
});

describe("the step list", () => {
  it("moves steps up and down, and not past either end", () => {
    const steps = [pick("a", "trim"), pick("b", "upper"), pick("c", "lower")];
    expect(moveItem(steps, 2, 1).map((s) => s.field)).toEqual(["a", "c", "b"]);
    expect(moveItem(steps, 0, 1).map((s) => s.field)).toEqual(["b", "a", "c"]);
    expect(moveItem(steps, 0, -1).map((s) => s.field)).toEqual(["a", "b", "c"]);
    expect(moveItem(steps, 2, 3).map((s) => s.field)).toEqual(["a", "b", "c"]);
  });

  it("adds a step on the last step's field", () => {
    expect(nextStep([pick("email", "email")])).toEqual({ field: "email", fn: "trim" });
    expect(nextStep([])).toEqual({ field: "", fn: "trim" });
  });

  it("starts a new template on the CRM's first-name field, valid as it is", () => {
    expect(starterSteps("contacts").map((s) => s.field)).toEqual(["firstname", "firstname"]);
    expect(starterSteps("Contact").map((s) => s.field)).toEqual(["FirstName", "FirstName"]);
    for (const o of ["contacts", "Contact", "Lead"]) expect(schemaErrors("TransformConfig", emptyTransform(o))).toEqual([]);
  });
});

describe("the documented configs", () => {
  const configs = docExamples("transform").flatMap((ex): TransformConfig[] => {
    const e = ex as Record<string, unknown>;
    const c = (e.config ?? e) as Record<string, unknown>;
    return "steps" in c ? [c as unknown as TransformConfig] : [];
  });
  const steps = docExamples("transform").filter((ex) => typeof ex === "object" && ex !== null && "fn" in ex) as Step[];

  it("has examples to read", () => {
    expect(configs.length).toBeGreaterThanOrEqual(2);
    expect(steps.length).toBeGreaterThanOrEqual(1);
  });

  it.each(configs.map((c) => [c.steps.map((s) => s.fn).join(", "), c] as const))("round trips [%s]", (_n, config) => {
    expect(schemaErrors("TransformConfig", config)).toEqual([]);
    const back: TransformConfig = { ...config, steps: unkeyed(keyed(config.steps)) };
    expect(back).toEqual(config);
  });

  it.each(steps.map((s) => [s.fn, s] as const))("round trips the %s step", (_n, step) => {
    expect(schemaErrors("Step", step)).toEqual([]);
    expect(unkeyed(keyed([step]))).toEqual([step]);
  });
});

// The debug binary loads phone metadata on start: give each run time.
describe("the engine (steward run) on steps built in the editor", { timeout: 60_000 }, () => {
  it("accepts a step of every function and does what each says", () => {
    const steps: Step[] = [
      pick("firstname", "trim"),
      pick("firstname", "title_case"),
      pick("lastname", "title_case"),
      pick("email", "email"),
      pick("phone", "phone"),
      pick("country", "country"),
      pick("state", "state"),
      pick("fullname", "split_name", { first: "first_guess", last: "last_guess" }),
      pick("website", "domain"),
      pick("birthday", "date"),
      pick("city", "default", { value: "Unknown" }),
      pick("code", "replace", { pattern: "(\\d{3})(\\d{4})", with: "$1-$2" }),
      pick("fax", "remove", { chars: "()-. " }),
      pick("tag", "upper"),
      pick("tag2", "lower"),
      pick("display", "join", { from: ["firstname", "lastname"] }),
      pick("email2", "copy", { from: "email" }),
    ];
    const config: TransformConfig = { object: "contacts", steps };
    expect(schemaErrors("TransformConfig", config)).toEqual([]);
    const csv = [
      "id,firstname,lastname,email,phone,country,state,fullname,website,birthday,city,code,fax,tag,tag2,display,email2,first_guess,last_guess",
      '1, JOHN ,mcdonald, Bob@Example.COM,(650) 253-0000,U.S.A.,Calif.,Dr. Maria de la Cruz,https://www.Acme.com/about,"March 5, 2024",,5551234,(650) 253-0000,straße,ÉMILE,,,,',
    ].join("\n");
    const out = stewardPreview({ module: "transform", name: "every function", config }, csv);
    expect(out.refused).toBeUndefined();
    const row = out.rows[0] ?? {};
    const after = (f: string) => row[`${f} (after)`];
    expect(after("firstname")).toBe("John");
    expect(after("lastname")).toBe("McDonald");
    expect(after("email")).toBe("bob@example.com");
    expect(after("phone")).toBe("'+16502530000");
    expect(after("country")).toBe("US");
    expect(after("state")).toBe("CA");
    expect([after("first_guess"), after("last_guess")]).toEqual(["Maria", "de la Cruz"]);
    expect(after("website")).toBe("acme.com");
    expect(after("birthday")).toBe("2024-03-05");
    expect(after("city")).toBe("Unknown");
    expect(after("code")).toBe("555-1234");
    expect(after("fax")).toBe("6502530000");
    expect(after("tag")).toBe("STRASSE");
    expect(after("tag2")).toBe("émile");
    expect(after("display")).toBe("John McDonald");
    expect(after("email2")).toBe("bob@example.com");
  });

  it("refuses a step left half-filled at the step's own key, where the editor shows it", () => {
    const config: TransformConfig = { object: "contacts", steps: [pick("firstname", "trim"), pick("phone", "replace")] };
    const out = stewardPreview({ module: "transform", name: "half", config }, "id,firstname,phone\n1,a,b\n");
    expect(out.refused).toContain("/config/steps/1/pattern");
    for (const p of refusedPointers(out.refused)) expect(stepsClaim(config.steps, "/config/steps", p), p).toBe(true);
  });
});
