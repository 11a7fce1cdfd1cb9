import { describe, expect, it } from "vitest";
import type { RunRow } from "./logic";
import { decide, decisionCounts, decisionsBody, followUpBody, followsWords, formatProbability, loadDecisions, pairsOf, parseNote, saveDecisions, storageKey, verdictOf, weightsState, type DecisionMap } from "./review";

function row(n: number, action: RunRow["action"], record_id: string | null, group_id: string | null, note: string | null = null): RunRow {
  return { row: n, action, record_id, group_id, note, role: action === "review" ? "candidate" : null, fields: {}, outcome: null, error_code: null, error_message: null };
}

/** A Storage over a Map, as the browser's localStorage behaves for these calls. */
function memoryStorage() {
  const m = new Map<string, string>();
  return {
    m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

describe("pairsOf", () => {
  it("makes one pair of each review group's two rows, the note from the first, other actions skipped", () => {
    const rows = [
      row(1, "merge", "m1", "g1", "same email"),
      row(2, "review", "101", "r1", "95.2% · firstname: Jon | John"),
      row(3, "review", "202", "r1"),
      row(4, "review", "303", "r2", "91%"),
      row(5, "review", "404", "r2"),
      row(6, "update", "9", null),
    ];
    expect(pairsOf(rows)).toEqual([
      { id: "r1", a: "101", b: "202", note: "95.2% · firstname: Jon | John" },
      { id: "r2", a: "303", b: "404", note: "91%" },
    ]);
  });
  it("leaves out a pair whose second row is not read yet (the next page has it)", () => {
    expect(pairsOf([row(1, "review", "101", "r1", "90%")])).toEqual([]);
  });
});

describe("parseNote", () => {
  it("reads the engine's review note: the probability, then each field's two values, level and weight", () => {
    const n = parseNote("match 0.9400 — email: ann@x.com / ann@x.co (one edit, +2.9) · lastname: Smith / Smyth (similar, +1.2) · firstname: Ann / — (missing, 0) · date_of_birth: 1990-01-02 / 1990-02-01 (day month swapped, -0.4)");
    expect(n.probability).toBeCloseTo(0.94);
    expect(n.lines).toEqual([
      { field: "email", text: "ann@x.com / ann@x.co (one edit, +2.9)", a: "ann@x.com", b: "ann@x.co", level: "one edit", weight: 2.9 },
      { field: "lastname", text: "Smith / Smyth (similar, +1.2)", a: "Smith", b: "Smyth", level: "similar", weight: 1.2 },
      { field: "firstname", text: "Ann / — (missing, 0)", a: "Ann", b: "—", level: "missing", weight: 0 },
      { field: "date_of_birth", text: "1990-01-02 / 1990-02-01 (day month swapped, -0.4)", a: "1990-01-02", b: "1990-02-01", level: "day month swapped", weight: -0.4 },
    ]);
    expect(n.other).toEqual([]);
  });
  it("reads the probability and one line per compared field with its weight", () => {
    const n = parseNote("p=0.953 · firstname: Jon | John (similar, +2.31) · lastname: Smith | Smith (exact, +6.02) · date_of_birth: 1990-01-02 | 1990-02-01 (day and month swapped, -0.5) · email: (missing, +0.0)");
    expect(n.probability).toBeCloseTo(0.953);
    expect(n.lines.map((l) => [l.field, l.weight])).toEqual([
      ["firstname", 2.31],
      ["lastname", 6.02],
      ["date_of_birth", -0.5],
      ["email", 0],
    ]);
    expect(n.lines[0]?.text).toBe("Jon | John (similar, +2.31)");
    expect(n.other).toEqual([]);
  });
  it("takes a percent too, and does not read a date's parts as a weight", () => {
    const n = parseNote("match probability 97.5% · dob: 1990-01-02 | 1990-01-02 exact");
    expect(n.probability).toBeCloseTo(0.975);
    expect(n.lines).toEqual([{ field: "dob", text: "1990-01-02 | 1990-01-02 exact" }]);
  });
  it("keeps what it cannot read as it is, and an empty note is empty", () => {
    expect(parseNote("households differ · 92%")).toEqual({ probability: 0.92, lines: [], other: ["households differ"] });
    expect(parseNote(null)).toEqual({ lines: [], other: [] });
  });
});

describe("formatProbability", () => {
  it("never rounds a pair below certainty up to 100%", () => {
    expect(formatProbability(0.9534)).toBe("95.3%");
    expect(formatProbability(0.99999)).toBe("99.9%");
    expect(formatProbability(1)).toBe("100%");
  });
});

describe("decisions kept per run", () => {
  it("survive leaving the page: saved, then read back for the same run only", () => {
    const s = memoryStorage();
    let d: DecisionMap = {};
    d = decide(d, { a: "101", b: "202" }, "accept");
    d = decide(d, { a: "303", b: "404" }, "reject");
    saveDecisions(s, "run-1", d);
    const back = loadDecisions(s, "run-1");
    expect(verdictOf(back, { a: "202", b: "101" })).toBe("accept");
    expect(verdictOf(back, { a: "303", b: "404" })).toBe("reject");
    expect(loadDecisions(s, "run-2")).toEqual({});
    expect(decisionCounts(back)).toEqual({ accepted: 1, rejected: 1 });
  });
  it("a pair decided again takes the new verdict; undecided, it goes; none left removes the entry", () => {
    const s = memoryStorage();
    let d = decide({}, { a: "1", b: "2" }, "accept");
    d = decide(d, { a: "2", b: "1" }, "reject");
    expect(decisionCounts(d)).toEqual({ accepted: 0, rejected: 1 });
    saveDecisions(s, "r", d);
    d = decide(d, { a: "1", b: "2" }, undefined);
    saveDecisions(s, "r", d);
    expect(s.m.has(storageKey("r"))).toBe(false);
  });
  it("garbage in storage reads as no decisions, bad entries are dropped", () => {
    const s = memoryStorage();
    s.setItem(storageKey("r"), "{not json");
    expect(loadDecisions(s, "r")).toEqual({});
    s.setItem(storageKey("r"), JSON.stringify({ x: { a: "1", b: "1", verdict: "accept" }, y: { a: "1", b: "2", verdict: "maybe" }, z: { a: "3", b: "4", verdict: "reject" } }));
    expect(Object.values(loadDecisions(s, "r"))).toEqual([{ a: "3", b: "4", verdict: "reject" }]);
    const throwing = { getItem: () => { throw new Error("denied"); } };
    expect(loadDecisions(throwing, "r")).toEqual({});
  });
});

describe("the follow-up run", () => {
  it("carries this run's earlier decisions and the new ones, a new verdict replacing an old one", () => {
    let d = decide({}, { a: "5", b: "6" }, "accept");
    d = decide(d, { a: "2", b: "1" }, "reject");
    const body = decisionsBody(d, { accept: [["1", "2"], ["7", "8"]], reject: [["3", "4"]] });
    expect(body).toEqual({ accept: [["5", "6"], ["7", "8"]], reject: [["2", "1"], ["3", "4"]] });
    expect(decisionsBody({})).toEqual({});
  });
  it("starts from the run's template, or its config when it had none, in the same scope", () => {
    const decisions = { accept: [["1", "2"]] };
    expect(followUpBody({ module: "merge", template_id: "t1", config: { object: "contacts" }, scope: "all" }, "preview", decisions)).toEqual({ template_id: "t1", mode: "preview", decisions });
    expect(followUpBody({ module: "merge", template_id: null, config: { object: "contacts" }, scope: { ids: ["1", "2"] } }, "apply", decisions)).toEqual({
      module: "merge",
      config: { object: "contacts" },
      mode: "apply",
      scope: { ids: ["1", "2"] },
      decisions,
    });
  });
  it("the run page says what decisions a run follows", () => {
    expect(followsWords({ accept: [["1", "2"], ["3", "4"]], reject: [["5", "6"]] })).toMatch(/^This run follows 2 accepted and 1 rejected pairs/);
    expect(followsWords({ accept: [["1", "2"]] })).toMatch(/^This run follows 1 accepted pair:/);
    expect(followsWords({})).toBeUndefined();
    expect(followsWords(undefined)).toBeUndefined();
  });
});

describe("saving a run's weights to its template", () => {
  const model = { fields: [{ field: "email", m: [0.9, 0.1], u: [0.01, 0.99] }], lambda: 0.01 };
  it("offers to save unless the template has exactly these weights (key order aside) or no score", () => {
    expect(weightsState({ object: "contacts", score: { fields: [] } }, model)).toBe("save");
    expect(weightsState({ object: "contacts", score: { fields: [], model: { lambda: 0.01, fields: model.fields } } }, model)).toBe("saved");
    expect(weightsState({ object: "contacts", score: { fields: [], model: { ...model, lambda: 0.02 } } }, model)).toBe("save");
    expect(weightsState({ object: "contacts", rules: [] }, model)).toBe("no-score");
  });
});
