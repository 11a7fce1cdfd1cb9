// Test-only helpers (imported by *.test.ts, never by the app): the API's own JSON Schema
// from target/openapi.json, the JSON examples of docs/modules/*.md, and `steward run`
// (the engine the API runs) over a CSV, to check what the editors produce.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../../../../..");
const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target");

const doc = JSON.parse(readFileSync(join(target, "openapi.json"), "utf8")) as { components: unknown };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const f of ["uint", "uint32", "uint64", "double", "int64", "int32", "float"]) ajv.addFormat(f, true);
ajv.addSchema({ $id: "openapi", components: doc.components });

/** The API schema's errors for `value` as `schema` (components.schemas.<schema>): [] when valid. */
export function schemaErrors(schema: string, value: unknown): string[] {
  const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema}`);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}

/** Every ```json block of docs/modules/<name>.md, parsed. */
export function docExamples(name: string): unknown[] {
  const text = readFileSync(join(repoRoot, "docs", "modules", `${name}.md`), "utf8");
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? "") as unknown);
}

export const stewardBin = process.env.STEWARD_BIN ?? join(target, "debug", "steward");
/** These tests run the engine itself: without the binary they fail, saying how to build it. */
function requireSteward() {
  if (!existsSync(stewardBin)) throw new Error(`${stewardBin} is missing: build it first (cargo build -p steward), or set STEWARD_BIN`);
}

/**
 * Runs `steward run` (a preview) with the template over the CSV: the record ids of the
 * preview's rows, or the errors the engine refused the config with.
 */
export function stewardPreview(template: { module: string; name: string; config: unknown }, csv: string): { ids: string[]; rows: Record<string, string>[]; refused?: string } {
  requireSteward();
  const dir = mkdtempSync(join(tmpdir(), "editors-"));
  writeFileSync(join(dir, "template.json"), JSON.stringify(template));
  writeFileSync(join(dir, "records.csv"), csv);
  try {
    execFileSync(stewardBin, ["run", "--template", join(dir, "template.json"), "--csv", join(dir, "records.csv"), "--out", join(dir, "out")], { stdio: "pipe" });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    return { ids: [], rows: [], refused: err.stderr?.toString() ?? String(e) };
  }
  const rows = parseCsv(readFileSync(join(dir, "out", "preview.csv"), "utf8"));
  return { ids: rows.map((r) => r.record_id ?? ""), rows };
}

/** A small RFC 4180 reader (quoted fields, doubled quotes). */
function parseCsv(text: string): Record<string, string>[] {
  const lines: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n") {
      row.push(cell);
      lines.push(row);
      row = [];
      cell = "";
    } else if (c !== "\r") cell += c;
  }
  if (cell || row.length) lines.push([...row, cell]);
  const [header, ...body] = lines;
  return body.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ""])));
}

/** The JSON pointers an engine refusal names (`t.json: /config/steps/1/pattern: ...`). */
export function refusedPointers(refused: string | undefined): string[] {
  return [...(refused ?? "").matchAll(/(\/config\/[^:\s]*)/g)].map((m) => m[1] ?? "");
}
