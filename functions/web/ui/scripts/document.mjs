// Where the OpenAPI document is read from: the first argument, else $STEWARD_OPENAPI, else
// the repo's target/openapi.json (what infra/test writes with `steward openapi`).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const uiRoot = resolve(here, "..");

export function documentPath() {
  const given = process.argv[2] || process.env.STEWARD_OPENAPI;
  return given ? resolve(given) : resolve(uiRoot, "../../../target/openapi.json");
}

export function readDocument() {
  const path = documentPath();
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    console.error(
      `no OpenAPI document at ${path} (${e.code}): write one with ` +
        "`steward openapi > target/openapi.json`, or name it in STEWARD_OPENAPI",
    );
    process.exit(1);
  }
  return { path, document: JSON.parse(text) };
}
