// The edits list the grid hands the module page: one edit per cell, undo, and the API's
// `/edits/<n>/...` problems shown in the cell they name. Every list made here is valid
// against the API's own JSON Schema for CellEditInput (from the OpenAPI document).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../../api/problem";
import { cellKey, claimsPointer, editedCount, problemsByCell, setEdit, undoEdit, type CellEdit } from "./edits";

const documentPath = process.env.STEWARD_OPENAPI ?? resolve(import.meta.dirname, "../../../../../../../../target/openapi.json");
const document = JSON.parse(readFileSync(documentPath, "utf8")) as { components: unknown };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: "steward", components: document.components });
const validEdit = ajv.getSchema("steward#/components/schemas/CellEditInput");

function expectValid(edits: CellEdit[]) {
  if (!validEdit) throw new Error("CellEditInput is not in the OpenAPI document");
  for (const e of edits) expect(validEdit(e), JSON.stringify(validEdit.errors)).toBe(true);
}

describe("edits", () => {
  it("the API's schema refuses what is not an edit (so the check below can fail)", () => {
    expect(validEdit?.({ id: "1", field: "amount", value: 5 })).toBe(false);
    expect(validEdit?.({ id: "1", value: "5" })).toBe(false);
    expect(validEdit?.({ id: "1", field: "amount", value: "5", was: "4" })).toBe(false);
  });

  it("adds one edit per cell, replacing a second edit of the same cell in place", () => {
    let edits = setEdit([], "D2", "amount", "1500", "900");
    edits = setEdit(edits, "D2", "closedate", "2024-04-30", "2024-02-15");
    edits = setEdit(edits, "D2", "amount", "1600", "900");
    expect(edits).toEqual([
      { id: "D2", field: "amount", value: "1600" },
      { id: "D2", field: "closedate", value: "2024-04-30" },
    ]);
    expectValid(edits);
  });

  it("clears a cell with null, and setting the CRM's value back is no edit", () => {
    let edits = setEdit([], "D1", "amount", "", "12000");
    expect(edits).toEqual([{ id: "D1", field: "amount", value: null }]);
    expectValid(edits);
    edits = setEdit(edits, "D1", "amount", "12000", "12000");
    expect(edits).toEqual([]);
    expect(setEdit([], "D4", "amount", "", null)).toEqual([]);
  });

  it("undoes one cell and keeps the others in order", () => {
    const edits: CellEdit[] = [
      { id: "1", field: "a", value: "x" },
      { id: "2", field: "a", value: "y" },
      { id: "3", field: "a", value: "z" },
    ];
    expect(undoEdit(edits, "2", "a").map((e) => e.id)).toEqual(["1", "3"]);
  });

  it("counts cells", () => {
    expect(editedCount(1)).toBe("1 cell edited");
    expect(editedCount(3)).toBe("3 cells edited");
  });
});

describe("the API's problems, by cell", () => {
  const sent: CellEdit[] = [
    { id: "D2", field: "amount", value: "1.500,00" },
    { id: "D2", field: "dealstage", value: "won" },
    { id: "D4", field: "amount", value: "-250" },
  ];
  const problem = new ApiError(400, {
    type: "about:blank",
    title: "Invalid request",
    status: 400,
    detail: "",
    errors: [
      { pointer: "/edits/0/value", detail: 'expected a number, got "1.500,00"' },
      { pointer: "/edits/1/value", detail: 'expected one of appointmentscheduled, closedwon, got "won"' },
      { pointer: "/config/columns/1", detail: "deals has no field `colour`" },
    ],
  });

  it("maps each /edits/<n>/value pointer to edit n's cell", () => {
    const cells = problemsByCell(problem, sent);
    expect(cells.get(cellKey("D2", "amount"))).toBe('expected a number, got "1.500,00"');
    expect(cells.get(cellKey("D2", "dealstage"))).toMatch(/expected one of/);
    expect(cells.has(cellKey("D4", "amount"))).toBe(false);
    expect(cells.size).toBe(2);
  });

  it("follows the cell, not the index, after an earlier edit is undone; drops a problem once its edit changed", () => {
    const now = undoEdit(sent, "D2", "amount");
    const cells = problemsByCell(problem, sent, now);
    expect(cells.get(cellKey("D2", "dealstage"))).toMatch(/expected one of/);
    expect(cells.has(cellKey("D2", "amount"))).toBe(false);
    const fixed = setEdit(now, "D2", "dealstage", "closedwon", "appointmentscheduled");
    expect(problemsByCell(problem, sent, fixed).size).toBe(0);
  });

  it("claims the pointers it shows, leaving the rest for the page's alert", () => {
    expect(claimsPointer("/edits/2/value", sent)).toBe(true);
    expect(claimsPointer("/edits/9/value", sent)).toBe(false);
    expect(claimsPointer("/edits/9/value")).toBe(true);
    expect(claimsPointer("/config/columns/1", sent)).toBe(true);
    expect(claimsPointer("/config/filter/all/0/field", sent)).toBe(true);
    expect(claimsPointer("/config", sent)).toBe(false);
    expect(claimsPointer("/template_id", sent)).toBe(false);
  });
});
