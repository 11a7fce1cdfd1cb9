// What the recipe screens say and check, as plain functions: which templates a step may
// use, the steps as the API takes them, a recipe run's and a step's status in words, and
// where the CRM's automation calls a recipe.
import type { components } from "../../api/schema";
import { STATUS } from "../runs/logic";

export type Recipe = components["schemas"]["Recipe"];
export type RecipeInput = components["schemas"]["RecipeInput"];
export type RecipeRun = components["schemas"]["RecipeRun"];
export type RecipeRunStatus = components["schemas"]["RecipeRunStatus"];
export type StepRun = components["schemas"]["StepRun"];
export type Automation = components["schemas"]["AutomationView"];
export type Template = components["schemas"]["Template"];
export type Mode = components["schemas"]["Mode"];

/** A step as the editor holds it: no template picked yet is "". */
export interface DraftStep {
  /** Stable across reordering, so each step's inputs keep their state. */
  key: number;
  template_id: string;
  mode: Mode;
}

/** The object a template works on (its config's `object`), or undefined if it names none. */
export function templateObject(t: Pick<Template, "config">): string | undefined {
  const config = t.config as { object?: unknown } | null | undefined;
  return typeof config?.object === "string" ? config.object : undefined;
}

/**
 * The templates step `index` may use: any module but Grid Edit (a grid run edits cells a
 * person typed, nothing to repeat), and once another step has a template, only templates
 * on that step's object (every step works on the same records). The step's own template
 * stays listed even if it no longer fits, so the API can say why.
 */
export function templatesForStep(templates: readonly Template[], steps: readonly DraftStep[], index: number): Template[] {
  const byId = new Map(templates.map((t) => [t.id, t]));
  const other = steps.find((s, i) => i !== index && s.template_id && byId.has(s.template_id));
  const object = other ? templateObject(byId.get(other.template_id) as Template) : undefined;
  const own = steps[index]?.template_id;
  return templates.filter((t) => t.id === own || (t.module !== "grid" && (object === undefined || templateObject(t) === object)));
}

/** The object the recipe will work on: its first picked template's. */
export function draftObject(templates: readonly Template[], steps: readonly DraftStep[]): string | undefined {
  for (const s of steps) {
    const t = templates.find((x) => x.id === s.template_id);
    if (t) return templateObject(t);
  }
  return undefined;
}

/** Step `from` moved to `to` (both in range), the others in their order. */
export function moveStep<T>(steps: readonly T[], from: number, to: number): T[] {
  if (from === to || from < 0 || to < 0 || from >= steps.length || to >= steps.length) return [...steps];
  const out = [...steps];
  const [moved] = out.splice(from, 1) as [T];
  out.splice(to, 0, moved);
  return out;
}

/** What POST/PUT /recipes takes. A step with no template is sent as it is: the API names it. */
export function recipeInput(name: string, description: string, steps: readonly DraftStep[]): RecipeInput {
  return {
    name: name.trim(),
    description: description.trim() === "" ? null : description.trim(),
    steps: steps.map((s) => ({ template_id: s.template_id, mode: s.mode })),
  };
}

let nextKey = 1;
export function draftStep(template_id = "", mode: Mode = "preview"): DraftStep {
  return { key: nextKey++, template_id, mode };
}

export function draftOf(recipe: Recipe): DraftStep[] {
  return recipe.steps.map((s) => draftStep(s.template_id, s.mode));
}

/** Whether the editor differs from the saved recipe. */
export function changed(recipe: Recipe | undefined, name: string, description: string, steps: readonly DraftStep[]): boolean {
  if (!recipe) return name.trim() !== "" || description.trim() !== "" || steps.some((s) => s.template_id !== "");
  if (recipe.name !== name.trim() || (recipe.description ?? "") !== description.trim()) return true;
  if (recipe.steps.length !== steps.length) return true;
  return recipe.steps.some((s, i) => s.template_id !== steps[i]?.template_id || s.mode !== steps[i]?.mode);
}

export const RECIPE_RUN_STATUS: Record<RecipeRunStatus, { label: string; color: string }> = {
  gathering: { label: "Gathering records", color: "yellow" },
  running: { label: "Running", color: "blue" },
  succeeded: { label: "Succeeded", color: "green" },
  partial: { label: "Partly failed", color: "orange" },
  failed: { label: "Failed", color: "red" },
};

/** A recipe run that ended changes no more: no polling. */
export function recipeRunOver(status: RecipeRunStatus): boolean {
  return status === "succeeded" || status === "partial" || status === "failed";
}

/** A step's status in words: its run's once it has one, else where the recipe run is. */
export function stepStatus(run: Pick<RecipeRun, "status" | "current">, step: Pick<StepRun, "run_id" | "status">, index: number): { label: string; color: string } {
  if (step.status) return STATUS[step.status];
  if (step.run_id) return { label: "Running", color: "blue" };
  if (recipeRunOver(run.status)) return { label: "Not run", color: "gray" };
  if (run.status === "gathering") return { label: "Waits for the records", color: "gray" };
  return index === run.current ? { label: "Starting", color: "blue" } : { label: "Waits for the step before", color: "gray" };
}

/** "All Contact records" or "3 records". */
export function scopeWords(scope: RecipeRun["scope"], object: string): string {
  if (scope === "all") return `All ${object} records`;
  const n = scope.ids.length;
  return `${n.toLocaleString()} ${object} record${n === 1 ? "" : "s"}`;
}

/** Why a recipe run is not simply running or done, in words. */
export function explainRecipeRun(run: Pick<RecipeRun, "status" | "error" | "steps" | "current" | "gather_until" | "successor">): string | undefined {
  switch (run.status) {
    case "gathering":
      return "Steward is collecting the records the CRM's automation sends for this recipe; the first step starts when the gathering window closes.";
    case "failed": {
      const step = run.steps[run.current];
      const which = step ? `Step ${run.current + 1} (${step.template_name})` : "A step";
      const why = run.error ? `: ${run.error.replace(/[.\s]+$/, "")}.` : ".";
      return `${which} did not finish${why} The steps after it did not run.`;
    }
    case "partial":
      return "Every step ran, but some records failed in some step: open the steps marked “Partly failed” to see which and why.";
    default:
      return undefined;
  }
}

/** Where the CRM's automation calls this recipe (the endpoint with the recipe's id). */
export function hookEndpoint(automation: Pick<Automation, "endpoint">, recipeId: string): string {
  return automation.endpoint.replace("{recipe_id}", recipeId);
}

/** The JSON pointer of a step's field, as the API's problems name it. */
export const stepPointer = (index: number, field?: "template_id" | "mode") => (field ? `/steps/${index}/${field}` : `/steps/${index}`);

/** Problems the editor shows beside a field of its own (name, description, a step). */
export function claimedByEditor(pointer: string): boolean {
  return pointer === "/name" || pointer === "/description" || /^\/steps(\/|$)/.test(pointer);
}
