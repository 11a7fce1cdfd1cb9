// Scored matching in the merge editor, apart from React: how records are matched ("rules",
// "score" or both), the compared fields of `config.score`, the two thresholds as percents,
// blocking keys and the saved model. Every edit is a pure function over MergeConfig.
import type { components } from "../../../../api/schema";
import { rulesOf, type MergeConfig, type RuleSet } from "./config";

type S = components["schemas"];
/** How a scored field's values are compared (each kind has its own agreement levels). */
export type ScoreCompare = S["ScoreCompare"];
/** One compared field: `swap_with` is name's (compared crosswise), the regions phone's. */
export type ScoreField = S["ScoreField"];
/** Fields, thresholds (0–1), blocking keys, and the saved weights (`model`): absent, each run learns them. */
export type ScoreConfig = S["ScoreConfig"];
export type ScoreModel = S["ScoreModel"];

export const DEFAULT_MERGE_THRESHOLD = 0.99;
export const DEFAULT_REVIEW_THRESHOLD = 0.9;

export const SCORE_COMPARES: { value: ScoreCompare; label: string; hint: string }[] = [
  { value: "name", label: "Person's name", hint: "Nicknames, initials, accents and typos count as close" },
  { value: "text", label: "Text", hint: "Case and punctuation ignored; a few typos count as close" },
  { value: "company", label: "Company name", hint: "Legal forms (Inc, Ltd, GmbH) ignored; typos count as close" },
  { value: "email", label: "Email address", hint: "Case ignored; a typo in the name part counts as close" },
  { value: "phone", label: "Phone number", hint: "Formatting ignored; one digit off or two digits swapped count as close" },
  { value: "code", label: "Id or code", hint: "Ids, postcodes, account numbers: two digits swapped counts as close" },
  { value: "date", label: "Date", hint: "One part off, day and month swapped, or the year off by one count as close" },
];

export function compareHint(compare: ScoreCompare): string {
  return SCORE_COMPARES.find((c) => c.value === compare)?.hint ?? "";
}

export type MatchMode = "rules" | "score" | "both";

export function matchMode(config: MergeConfig): MatchMode {
  if (!config.score) return "rules";
  return rulesOf(config).length > 0 ? "both" : "score";
}

/** The fields a new score compares, per object the sandbox and real CRMs have. */
const FIRST_SCORE: Record<string, ScoreField[]> = {
  contacts: [
    { field: "firstname", compare: "name", swap_with: "lastname" },
    { field: "lastname", compare: "name", swap_with: "firstname" },
    { field: "email", compare: "email" },
    { field: "phone", compare: "phone" },
  ],
  Contact: [
    { field: "FirstName", compare: "name", swap_with: "LastName" },
    { field: "LastName", compare: "name", swap_with: "FirstName" },
    { field: "Email", compare: "email" },
    { field: "Phone", compare: "phone" },
  ],
  Lead: [
    { field: "FirstName", compare: "name", swap_with: "LastName" },
    { field: "LastName", compare: "name", swap_with: "FirstName" },
    { field: "Email", compare: "email" },
    { field: "Company", compare: "company" },
  ],
  companies: [
    { field: "name", compare: "company" },
    { field: "domain", compare: "text" },
    { field: "phone", compare: "phone" },
  ],
  Account: [
    { field: "Name", compare: "company" },
    { field: "Website", compare: "text" },
    { field: "Phone", compare: "phone" },
  ],
};

/** A score a person can preview as it is: the object's usual fields, the default thresholds. */
export function emptyScore(object: string): ScoreConfig {
  const fields = (FIRST_SCORE[object] ?? [{ field: "", compare: "text" as const }]).map((f) => ({ ...f }));
  return { fields, merge_threshold: DEFAULT_MERGE_THRESHOLD, review_threshold: DEFAULT_REVIEW_THRESHOLD };
}

/**
 * Rules, score or both. What a mode leaves out goes (the API reads what is there); what it
 * adds starts as a new template's would (`rulesStart`: the rule sets a fresh config has).
 */
export function setMatchMode(config: MergeConfig, mode: MatchMode, rulesStart: () => RuleSet[]): MergeConfig {
  if (mode === matchMode(config)) return config;
  const out: MergeConfig = { ...config };
  if (mode === "rules") delete out.score;
  else if (!out.score) out.score = emptyScore(config.object);
  if (mode === "score") delete out.rules;
  else if (rulesOf(out).length === 0) out.rules = rulesStart();
  return out;
}

function withScore(config: MergeConfig, change: (s: ScoreConfig) => ScoreConfig): MergeConfig {
  if (!config.score) return config;
  return { ...config, score: change(config.score) };
}

export function addScoreField(config: MergeConfig): MergeConfig {
  return withScore(config, (s) => ({ ...s, fields: [...s.fields, { field: "", compare: "text" }] }));
}

export function removeScoreField(config: MergeConfig, i: number): MergeConfig {
  return withScore(config, (s) => ({ ...s, fields: s.fields.filter((_, k) => k !== i) }));
}

export function updateScoreField(config: MergeConfig, i: number, change: (f: ScoreField) => ScoreField): MergeConfig {
  return withScore(config, (s) => ({ ...s, fields: s.fields.map((f, k) => (k === i ? change(f) : f)) }));
}

/** A new kind: keys only another kind takes go (swap_with is name's; regions are phone's). */
export function setScoreCompare(f: ScoreField, compare: ScoreCompare): ScoreField {
  const out: ScoreField = { ...f, compare };
  if (compare !== "name") delete out.swap_with;
  if (compare !== "phone") {
    delete out.default_region;
    delete out.region_field;
  }
  return out;
}

/** `key` set, or removed when empty (absent means none). */
export function setScoreOption(f: ScoreField, key: "swap_with" | "default_region" | "region_field" | "field", value: string | undefined): ScoreField {
  const out = { ...f };
  if (key === "field") return { ...out, field: value ?? "" };
  if (!value) delete out[key];
  else out[key] = value;
  return out;
}

/** 0.99 → 99, 0.995 → 99.5 (what a person reads and types). */
export function toPercent(p: number | null | undefined): number | undefined {
  if (p === undefined || p === null || !Number.isFinite(p)) return undefined;
  return Math.round(p * 100_000) / 1000;
}

/** 99 → 0.99; an empty input clears the threshold (the API's default applies). */
export function fromPercent(v: number | string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n)) return undefined;
  return Math.round(n * 1000) / 100_000;
}

export function setThreshold(config: MergeConfig, key: "merge_threshold" | "review_threshold", p: number | undefined): MergeConfig {
  return withScore(config, (s) => {
    const out = { ...s };
    if (p === undefined) delete out[key];
    else out[key] = p;
    return out;
  });
}

/** The band in plain words, from the thresholds (or their defaults). */
export function thresholdWords(score: ScoreConfig): string {
  const merge = toPercent(score.merge_threshold ?? DEFAULT_MERGE_THRESHOLD) ?? 99;
  const review = toPercent(score.review_threshold ?? DEFAULT_REVIEW_THRESHOLD) ?? 90;
  if (review >= merge) return `Pairs at least ${merge}% likely the same are merged; none are sent to you for review.`;
  return `Pairs at least ${merge}% likely the same are merged. Pairs between ${review}% and ${merge}% are listed for you to accept or reject; nothing is merged for them until you do. Pairs below ${review}% are left alone.`;
}

export function blockingKeys(config: MergeConfig): string[][] {
  return config.score?.blocking ?? [];
}

/** The keys, without an empty list at the end (the API refuses an empty key). */
function withBlocking(config: MergeConfig, keys: string[][]): MergeConfig {
  return withScore(config, (s) => {
    const out = { ...s };
    if (keys.length === 0) delete out.blocking;
    else out.blocking = keys;
    return out;
  });
}

export function addBlockingKey(config: MergeConfig, fields: string[]): MergeConfig {
  if (fields.length === 0) return config;
  return withBlocking(config, [...blockingKeys(config), fields]);
}

/** Key `i`'s fields; no field left removes the key. */
export function setBlockingKey(config: MergeConfig, i: number, fields: string[]): MergeConfig {
  const keys = blockingKeys(config);
  return withBlocking(config, fields.length === 0 ? keys.filter((_, k) => k !== i) : keys.map((k, n) => (n === i ? fields : k)));
}

/** Forget saved weights: the next run learns them from the data again. */
export function forgetModel(config: MergeConfig): MergeConfig {
  return withScore(config, (s) => {
    const out = { ...s };
    delete out.model;
    return out;
  });
}

/** The config with `model` saved as its score's weights (a run's learned model). */
export function saveModel(config: MergeConfig, model: ScoreModel): MergeConfig {
  return withScore(config, (s) => ({ ...s, model }));
}

/** When a saved model was learned, if it says (`learned_at`, `trained_at`, `created_at`). */
export function modelDate(model: unknown): string | undefined {
  if (!model || typeof model !== "object") return undefined;
  for (const key of ["learned_at", "trained_at", "created_at", "at"]) {
    const v = (model as Record<string, unknown>)[key];
    if (typeof v === "string" && !Number.isNaN(Date.parse(v))) return v;
  }
  return undefined;
}

/** Whether the editor shows the problem at `pointer` (under /config/score) beside an input. */
export function scoreClaims(config: MergeConfig, pointer: string): boolean {
  const s = config.score;
  if (!s) return false;
  if (["/config/score", "/config/score/fields", "/config/score/merge_threshold", "/config/score/review_threshold", "/config/score/blocking", "/config/score/model"].includes(pointer)) return true;
  let m = /^\/config\/score\/fields\/(\d+)(?:\/([a-z_]+))?$/.exec(pointer);
  if (m) {
    const f = s.fields[Number(m[1])];
    if (!f) return false;
    const key = m[2];
    if (key === undefined || key === "field" || key === "compare") return true;
    if (key === "swap_with") return f.compare === "name";
    if (key === "default_region" || key === "region_field") return f.compare === "phone";
    return false;
  }
  m = /^\/config\/score\/blocking\/(\d+)(?:\/\d+)?$/.exec(pointer);
  if (m) return blockingKeys(config)[Number(m[1])] !== undefined;
  return false;
}
