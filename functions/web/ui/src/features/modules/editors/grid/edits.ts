// The grid's edits: one `{id, field, value}` per changed cell (what POST /runs takes as
// `edits`), kept in the order the person made them, and the API's `/edits/<n>/...` problems
// mapped back to the cell they are about.
import { ApiError } from "../../../../api/problem";
import type { components } from "../../../../api/schema";

export type CellEdit = components["schemas"]["CellEditInput"];

/** A cell's key: record id and field name. */
export function cellKey(id: string, field: string): string {
  return `${id}\u0000${field}`;
}

/** An empty value is no value: the cell is cleared. */
function norm(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === "" ? null : value;
}

export function findEdit(edits: readonly CellEdit[], id: string, field: string): { edit: CellEdit; index: number } | undefined {
  const index = edits.findIndex((e) => e.id === id && e.field === field);
  const edit = edits[index];
  return edit ? { edit, index } : undefined;
}

/**
 * The edits after the person set cell (`id`, `field`) to `value`. A second edit of a cell
 * replaces the first in place (the API refuses two edits of one cell); setting a cell back
 * to `original`, its value in the CRM, is no edit at all.
 */
export function setEdit(edits: readonly CellEdit[], id: string, field: string, value: string | null, original: string | null | undefined): CellEdit[] {
  const v = norm(value);
  const found = findEdit(edits, id, field);
  if (v === norm(original)) return found ? undoEdit(edits, id, field) : [...edits];
  const edit: CellEdit = { id, field, value: v };
  if (!found) return [...edits, edit];
  return edits.map((e, i) => (i === found.index ? edit : e));
}

export function undoEdit(edits: readonly CellEdit[], id: string, field: string): CellEdit[] {
  return edits.filter((e) => !(e.id === id && e.field === field));
}

/** `/edits/3/value` → edit 3's `value`; anything else → undefined. */
export function parseEditPointer(pointer: string): { index: number; part: "id" | "field" | "value" | "" } | undefined {
  const m = /^\/edits\/(\d+)(?:\/(id|field|value))?$/.exec(pointer);
  if (!m) return undefined;
  return { index: Number(m[1]), part: (m[2] ?? "") as "id" | "field" | "value" | "" };
}

export function editPointer(index: number, part: "id" | "field" | "value"): string {
  return `/edits/${index}/${part}`;
}

/**
 * The API's problems about edits, by cell: each `/edits/<n>/...` pointer names the edit at
 * index n of the list that was sent (`sent`; the current list when it has not changed since).
 * A problem whose edit has since been undone or changed is left out: it no longer applies.
 */
export function problemsByCell(error: unknown, sent: readonly CellEdit[], current: readonly CellEdit[] = sent): Map<string, string> {
  const out = new Map<string, string>();
  if (!(error instanceof ApiError)) return out;
  for (const f of error.fields) {
    const at = parseEditPointer(f.pointer);
    const edit = at && sent[at.index];
    if (!edit) continue;
    const now = findEdit(current, edit.id, edit.field);
    if (!now || norm(now.edit.value) !== norm(edit.value)) continue;
    const key = cellKey(edit.id, edit.field);
    out.set(key, out.has(key) ? `${out.get(key)}; ${f.detail}` : f.detail);
  }
  return out;
}

/**
 * Whether the grid editor shows the problem at `pointer` itself (in a cell or a config input);
 * with `sent`, an edit pointer only when it names one of the edits sent.
 */
export function claimsPointer(pointer: string, sent?: readonly CellEdit[]): boolean {
  const at = parseEditPointer(pointer);
  if (at) return sent === undefined || at.index < sent.length;
  return /^\/config\/(object|columns(\/\d+)?|page_size|sort(\/field|\/direction)?|filter(\/.*)?)$/.test(pointer);
}

/** "1 cell edited", "3 cells edited". */
export function editedCount(n: number): string {
  return `${n} ${n === 1 ? "cell" : "cells"} edited`;
}
