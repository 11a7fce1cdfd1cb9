// Pairs to review, apart from React: a scored merge preview's `review` rows as pairs, each
// pair's note laid out one compared field a line, a person's accept/reject decisions kept
// per run in localStorage (leaving the page loses nothing), and the body of the follow-up
// run that carries them.
import type { components } from "../../api/schema";
import type { Run, RunRow } from "./logic";

export type Decisions = components["schemas"]["Decisions"];
export type StartInput = components["schemas"]["StartInput"];
export type Verdict = "accept" | "reject";

/** One review pair: the CSV's two `candidate` rows of a `review` group (r1, r2, …). */
export interface Pair {
  id: string;
  a: string;
  b: string;
  /** The first row's note: the probability and every compared field. */
  note: string | null;
}

/** The review pairs among `rows`, in file order (rows of other actions are skipped). */
export function pairsOf(rows: readonly RunRow[]): Pair[] {
  const out: Pair[] = [];
  const byId = new Map<string, { rows: RunRow[] }>();
  for (const row of rows) {
    if (row.action !== "review" || !row.group_id) continue;
    let g = byId.get(row.group_id);
    if (!g) {
      g = { rows: [] };
      byId.set(row.group_id, g);
    }
    g.rows.push(row);
  }
  for (const [id, g] of byId) {
    const [first, second] = g.rows;
    if (!first?.record_id || !second?.record_id) continue;
    out.push({ id, a: first.record_id, b: second.record_id, note: g.rows.find((r) => r.note)?.note ?? null });
  }
  return out;
}

/**
 * One compared field of a note: its name, the text as written, and what could be read of
 * it: both records' values, the agreement level, the weight (the engine writes
 * `email: ann@x.com / ann@x.co (one edit, +2.9)`).
 */
export interface NoteLine {
  field: string;
  text: string;
  a?: string;
  b?: string;
  level?: string;
  weight?: number;
}

export interface ParsedNote {
  /** The match probability, 0–1, when the note gives it. */
  probability?: number;
  lines: NoteLine[];
  /** Parts that are neither (shown as they are). */
  other: string[];
}

// `match 0.9400 — ` (the engine's review note) opens with the probability.
const LEAD = /^(?:match|scored|probability|p)\s*[=:]?\s*(0(?:\.\d+)?|1(?:\.0+)?|\.\d+|\d{1,3}(?:\.\d+)?\s*%)\s*(?:[—–]|-{1,2}|:)?\s*/i;
const PERCENT = /^(?:(?:match\s+)?(?:probability|p|score|likely)\s*[=:]?\s*)?(\d{1,3}(?:\.\d+)?)\s*%(?:\s*(?:likely|sure|match(?:ing)?)?)?$/i;
const FRACTION = /^(?:match\s+)?(?:probability|p|score|match|scored)\s*[=:]?\s*(0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$/i;
const FIELD = /^([^:]{1,80}?):\s*(.*)$/;
// `(level, +2.9)` closing a field's part.
const LEVEL_WEIGHT = /\s*\(([^()]*?),\s*([+\-−]?\d+(?:\.\d+)?)\)\s*$/;
// A signed number standing alone (a weight): not the "-01" inside a date.
const WEIGHT = /(?:^|[\s(=,;])([+\-−]\d+(?:\.\d+)?)(?=$|[\s),;])/g;

function probabilityOf(s: string): number {
  const t = s.trim();
  return t.endsWith("%") ? Number(t.slice(0, -1).trim()) / 100 : Number(t);
}

function fieldLine(field: string, rest: string): NoteLine {
  const line: NoteLine = { field: field.trim(), text: rest.trim() };
  const lw = LEVEL_WEIGHT.exec(rest);
  if (lw?.[1] !== undefined && lw[2] !== undefined) {
    line.level = lw[1].trim();
    line.weight = Number(lw[2].replace("−", "-"));
    const values = rest.slice(0, lw.index).split(" / ");
    if (values.length === 2) {
      line.a = (values[0] ?? "").trim();
      line.b = (values[1] ?? "").trim();
    }
    return line;
  }
  const weights = [...rest.matchAll(WEIGHT)];
  const last = weights[weights.length - 1]?.[1];
  if (last !== undefined) line.weight = Number(last.replace("−", "-"));
  return line;
}

/** A `·`-separated note (probability first, then field by field) as lines a person reads. */
export function parseNote(note: string | null | undefined): ParsedNote {
  const out: ParsedNote = { lines: [], other: [] };
  if (!note) return out;
  let body = note.trim();
  const lead = LEAD.exec(body);
  if (lead?.[1] && lead[0].length < body.length && /[—–:-]\s*$/.test(lead[0])) {
    out.probability = probabilityOf(lead[1]);
    body = body.slice(lead[0].length);
  }
  for (const raw of body.split("·")) {
    const part = raw.trim();
    if (!part) continue;
    const pct = PERCENT.exec(part);
    const frac = pct ? null : FRACTION.exec(part);
    if (out.probability === undefined && (pct || frac)) {
      out.probability = pct ? Number(pct[1]) / 100 : Number(frac?.[1]);
      continue;
    }
    const f = FIELD.exec(part);
    if (f?.[1] && f[2] !== undefined) out.lines.push(fieldLine(f[1], f[2]));
    else out.other.push(part);
  }
  return out;
}

/** 0.9534 → "95.3%" (never "100%" for a pair below 1). */
export function formatProbability(p: number): string {
  const pct = Math.floor(p * 1000) / 10;
  return `${pct.toLocaleString(undefined, { maximumFractionDigits: 1 })}%`;
}

// --- Decisions, per run, in localStorage ---

/** The pair's two ids in a fixed order, so a pair is the same whichever way round. */
function pairKey(a: string, b: string): string {
  return JSON.stringify(a <= b ? [a, b] : [b, a]);
}

/** Decisions by pair key: both ids (as shown) and the verdict. */
export type DecisionMap = Readonly<Record<string, { a: string; b: string; verdict: Verdict }>>;

export const storageKey = (runId: string) => `steward.review.${runId}`;

/** The decisions kept for `runId`; none when absent or unreadable. */
export function loadDecisions(storage: Pick<Storage, "getItem"> | undefined, runId: string): DecisionMap {
  let raw: string | null = null;
  try {
    raw = storage?.getItem(storageKey(runId)) ?? null;
  } catch {
    return {};
  }
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object") return {};
    const out: Record<string, { a: string; b: string; verdict: Verdict }> = {};
    for (const v of Object.values(parsed as Record<string, unknown>)) {
      if (!v || typeof v !== "object") continue;
      const { a, b, verdict } = v as Record<string, unknown>;
      if (typeof a === "string" && typeof b === "string" && a && b && a !== b && (verdict === "accept" || verdict === "reject")) out[pairKey(a, b)] = { a, b, verdict };
    }
    return out;
  } catch {
    return {};
  }
}

/** Keeps the decisions for `runId` (none: the entry goes). A full or refused storage is ignored. */
export function saveDecisions(storage: Pick<Storage, "setItem" | "removeItem"> | undefined, runId: string, map: DecisionMap): void {
  try {
    if (Object.keys(map).length === 0) storage?.removeItem(storageKey(runId));
    else storage?.setItem(storageKey(runId), JSON.stringify(map));
  } catch {
    // Private mode or a full storage: the decisions stay on the page.
  }
}

/** The pair decided (or undecided, with `undefined`). */
export function decide(map: DecisionMap, pair: Pick<Pair, "a" | "b">, verdict: Verdict | undefined): DecisionMap {
  const key = pairKey(pair.a, pair.b);
  const next = { ...map };
  if (verdict) next[key] = { a: pair.a, b: pair.b, verdict };
  else delete next[key];
  return next;
}

export function verdictOf(map: DecisionMap, pair: Pick<Pair, "a" | "b">): Verdict | undefined {
  return map[pairKey(pair.a, pair.b)]?.verdict;
}

export function decisionCounts(map: DecisionMap): { accepted: number; rejected: number } {
  const all = Object.values(map);
  return { accepted: all.filter((d) => d.verdict === "accept").length, rejected: all.filter((d) => d.verdict === "reject").length };
}

/**
 * The decisions a follow-up run carries: those this run followed (a follow-up of a
 * follow-up forgets nothing) and the new ones, a new verdict replacing an old one on the
 * same pair; sorted, so the same decisions send the same body.
 */
export function decisionsBody(map: DecisionMap, previous?: Decisions): Decisions {
  const all = new Map<string, { a: string; b: string; verdict: Verdict }>();
  for (const verdict of ["accept", "reject"] as const) {
    for (const p of previous?.[verdict] ?? []) {
      const [a, b] = p;
      if (a && b && a !== b) all.set(pairKey(a, b), { a, b, verdict });
    }
  }
  for (const [k, d] of Object.entries(map)) all.set(k, d);
  const pairs = (verdict: Verdict) =>
    [...all.values()]
      .filter((d) => d.verdict === verdict)
      .map((d) => [d.a, d.b])
      .sort((x, y) => (pairKey(x[0] ?? "", x[1] ?? "") < pairKey(y[0] ?? "", y[1] ?? "") ? -1 : 1));
  const out: Decisions = {};
  const accept = pairs("accept");
  const reject = pairs("reject");
  if (accept.length > 0) out.accept = accept;
  if (reject.length > 0) out.reject = reject;
  return out;
}

/** `POST /runs` for the follow-up: the run's template (or its config), the same scope, the decisions. */
export function followUpBody(run: Pick<Run, "module" | "template_id" | "config" | "scope">, mode: Run["mode"], decisions: Decisions): StartInput {
  const body = (run.template_id ? { template_id: run.template_id, mode } : { module: run.module, config: run.config, mode }) as StartInput;
  if (run.scope !== "all") body.scope = run.scope;
  body.decisions = decisions;
  return body;
}

/** "This run follows 3 accepted and 1 rejected pairs", or undefined for a run without decisions. */
export function followsWords(decisions: Decisions | undefined): string | undefined {
  const a = decisions?.accept?.length ?? 0;
  const r = decisions?.reject?.length ?? 0;
  if (a === 0 && r === 0) return undefined;
  const counts = a + r === 1 ? (a ? "1 accepted pair" : "1 rejected pair") : `${a.toLocaleString()} accepted and ${r.toLocaleString()} rejected pairs`;
  return `This run follows ${counts}: accepted pairs are merged whatever their score, rejected pairs never are.`;
}

/** Keys sorted, so two models that differ only in key order are the same. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/**
 * What "Save these weights to the template" can do for a run's model: `saved` (the template
 * already has exactly these), `no-score` (the template no longer matches by score), `save`.
 */
export function weightsState(templateConfig: unknown, model: unknown): "saved" | "no-score" | "save" {
  const score = templateConfig && typeof templateConfig === "object" ? (templateConfig as { score?: { model?: unknown } }).score : undefined;
  if (!score || typeof score !== "object") return "no-score";
  return score.model !== undefined && canonical(score.model) === canonical(model) ? "saved" : "save";
}
