// `npm run check`'s last step: every operation of the OpenAPI document is called by
// src/api/every-operation.ts (a call is `<client>.<METHOD>("<path>", ...)`, found in the
// program's syntax tree), so an operation added to the API is a failing check until the
// typed client is exercised on it. Fails naming each operationId not called.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { readDocument, uiRoot } from "./document.mjs";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const { path: docPath, document } = readDocument();
const program = resolve(uiRoot, "src/api/every-operation.ts");
const source = ts.createSourceFile(program, readFileSync(program, "utf8"), ts.ScriptTarget.Latest, true);

const called = new Set();
(function visit(node) {
  if (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    METHODS.includes(node.expression.name.text.toLowerCase()) &&
    node.expression.name.text === node.expression.name.text.toUpperCase() &&
    node.arguments.length > 0 &&
    ts.isStringLiteralLike(node.arguments[0])
  ) {
    called.add(`${node.expression.name.text.toLowerCase()} ${node.arguments[0].text}`);
  }
  ts.forEachChild(node, visit);
})(source);

const missing = [];
let operations = 0;
for (const [path, item] of Object.entries(document.paths ?? {})) {
  for (const method of METHODS) {
    const op = item[method];
    if (!op) continue;
    operations += 1;
    if (!called.has(`${method} ${path}`)) {
      missing.push(`${op.operationId ?? "(no operationId)"} (${method.toUpperCase()} ${path})`);
    }
  }
}
if (missing.length > 0) {
  console.error(`coverage: src/api/every-operation.ts does not call ${missing.length} of the ${operations} operations of ${docPath}:`);
  for (const m of missing) console.error(`  ${m}`);
  process.exit(1);
}
console.log(`coverage: all ${operations} operations of ${docPath} are called by src/api/every-operation.ts`);
