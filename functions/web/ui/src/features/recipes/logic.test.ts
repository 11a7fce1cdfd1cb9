import { describe, expect, it } from "vitest";
import { ApiError, errorAt } from "../../api/problem";
import {
  changed,
  claimedByEditor,
  draftObject,
  draftStep,
  explainRecipeRun,
  hookEndpoint,
  moveStep,
  recipeInput,
  scopeWords,
  stepPointer,
  stepStatus,
  templatesForStep,
  type Recipe,
  type StepRun,
  type Template,
} from "./logic";

function template(id: string, module: Template["module"], object: string): Template {
  return { id, module, name: id, description: null, config: { object }, created_by: "u", created_at: "", updated_by: "u", updated_at: "", version: 1, share_url: "" };
}

const names = template("names", "transform", "Contact");
const source = template("source", "bulk", "Contact");
const cells = template("cells", "grid", "Contact");
const leads = template("leads", "transform", "Lead");
const all = [names, source, cells, leads];

describe("templatesForStep", () => {
  it("offers every template but Grid Edit while no other step has one", () => {
    const steps = [draftStep()];
    expect(templatesForStep(all, steps, 0).map((t) => t.id)).toEqual(["names", "source", "leads"]);
  });

  it("offers only templates on the object another step works on", () => {
    const steps = [draftStep("names"), draftStep()];
    expect(templatesForStep(all, steps, 1).map((t) => t.id)).toEqual(["names", "source"]);
  });

  it("keeps a step's own template listed even when it no longer fits, so the API can say why", () => {
    const steps = [draftStep("names"), draftStep("leads")];
    expect(templatesForStep(all, steps, 1).map((t) => t.id)).toEqual(["names", "source", "leads"]);
  });
});

describe("the steps", () => {
  it("moves a step and keeps the others in order", () => {
    expect(moveStep(["a", "b", "c"], 2, 0)).toEqual(["c", "a", "b"]);
    expect(moveStep(["a", "b", "c"], 0, 1)).toEqual(["b", "a", "c"]);
    expect(moveStep(["a", "b"], 1, 2)).toEqual(["a", "b"]);
  });

  it("are sent as the API takes them, a blank description as null", () => {
    expect(recipeInput("  Tidy ", " ", [draftStep("names", "apply"), draftStep("source")])).toEqual({
      name: "Tidy",
      description: null,
      steps: [
        { template_id: "names", mode: "apply" },
        { template_id: "source", mode: "preview" },
      ],
    });
  });

  it("name the object: the first picked template's", () => {
    expect(draftObject(all, [draftStep(), draftStep("leads")])).toBe("Lead");
    expect(draftObject(all, [draftStep()])).toBeUndefined();
  });

  it("differ from the saved recipe when a mode or the order changed", () => {
    const saved = { name: "Tidy", description: null, steps: [{ template_id: "names", mode: "apply" }, { template_id: "source", mode: "preview" }] } as unknown as Recipe;
    expect(changed(saved, "Tidy", "", [draftStep("names", "apply"), draftStep("source", "preview")])).toBe(false);
    expect(changed(saved, "Tidy", "", [draftStep("names", "preview"), draftStep("source", "preview")])).toBe(true);
    expect(changed(saved, "Tidy", "", [draftStep("source", "preview"), draftStep("names", "apply")])).toBe(true);
  });
});

describe("problems beside a step", () => {
  const problem = new ApiError(400, {
    type: "about:blank",
    title: "Invalid recipe",
    status: 400,
    detail: "2 problems",
    errors: [
      { pointer: "/steps/1/template_id", detail: "works on Lead, not Contact like step 1" },
      { pointer: "/steps/0/mode", detail: "needs write access to Transform Data" },
    ],
  });

  it("are read at the step's own pointer", () => {
    expect(errorAt(problem, stepPointer(1, "template_id"))).toBe("works on Lead, not Contact like step 1");
    expect(errorAt(problem, stepPointer(0, "mode"))).toBe("needs write access to Transform Data");
    expect(errorAt(problem, stepPointer(0, "template_id"))).toBeUndefined();
  });

  it("are claimed by the editor; others go to its alert", () => {
    expect(claimedByEditor("/steps/3/template_id")).toBe(true);
    expect(claimedByEditor("/steps")).toBe(true);
    expect(claimedByEditor("/name")).toBe(true);
    expect(claimedByEditor("/stepsx")).toBe(false);
    expect(claimedByEditor("/scope")).toBe(false);
  });
});

describe("a recipe run in words", () => {
  const steps: StepRun[] = [
    { template_id: "names", template_name: "Names", module: "transform", mode: "apply", run_id: "R1", status: "succeeded" },
    { template_id: "source", template_name: "Source", module: "bulk", mode: "preview", run_id: null, status: null },
  ];
  const [first, second] = steps as [StepRun, StepRun];

  it("says which step stopped a failed run and that the rest did not run", () => {
    const run = { status: "failed" as const, error: "the step was cancelled", steps, current: 0, gather_until: null, successor: null };
    expect(explainRecipeRun(run)).toBe("Step 1 (Names) did not finish: the step was cancelled. The steps after it did not run.");
    expect(explainRecipeRun({ ...run, error: null })).toBe("Step 1 (Names) did not finish. The steps after it did not run.");
  });

  it("gives a step without a run what it waits for, or that it never ran", () => {
    expect(stepStatus({ status: "running", current: 0 }, second, 1).label).toBe("Waits for the step before");
    expect(stepStatus({ status: "running", current: 1 }, second, 1).label).toBe("Starting");
    expect(stepStatus({ status: "failed", current: 0 }, second, 1).label).toBe("Not run");
    expect(stepStatus({ status: "running", current: 1 }, first, 0).label).toBe("Succeeded");
  });

  it("counts its records", () => {
    expect(scopeWords("all", "Contact")).toBe("All Contact records");
    expect(scopeWords({ ids: ["1"] }, "Contact")).toBe("1 Contact record");
    expect(scopeWords({ ids: ["1", "2"] }, "Lead")).toBe("2 Lead records");
  });

  it("puts the recipe's id in the automation endpoint", () => {
    expect(hookEndpoint({ endpoint: "https://steward.example/hooks/salesforce/recipes/{recipe_id}" }, "01ABC")).toBe("https://steward.example/hooks/salesforce/recipes/01ABC");
  });
});
