#!/usr/bin/env node
// Static checks of Steward's Salesforce package (infra/salesforce). Apex cannot run here
// (it runs only in a Salesforce org), so this checks what can be checked without an org:
//   1. every .cls parses with the Apex parser prettier-plugin-apex uses (Salesforce's jorje,
//      shipped as a native executable, or run on Java 17+ where none is shipped) and is
//      formatted as prettier-plugin-apex formats it;
//   2. sfdx-project.json matches the official schema (@salesforce/schemas, validated by ajv);
//   3. every metadata XML file is well-formed, in the metadata namespace, and every class
//      has its -meta.xml (and every class -meta.xml its class);
//   4. static branch coverage: every branch (if/else-if/else body, catch, loop body, switch
//      when) of a non-test class starts with a `// branch: <tag>` comment, tags are unique,
//      and every tag is named in a `// covers: <tag>, ...` comment inside an @IsTest method
//      of a test class (and every covered tag exists). Ternaries are refused: write if/else,
//      so the branch can be tagged.
// Usage: node check.mjs [dir]   (dir defaults to this script's folder). Exit 0 only when all pass.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import Ajv from "ajv";
import { XMLValidator } from "fast-xml-parser";
import * as prettier from "prettier";
import * as apexPlugin from "prettier-plugin-apex";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.argv[2] ?? here);
const require = createRequire(import.meta.url);
const METADATA_NS = "http://soap.sforce.com/2006/04/metadata";

const failures = [];
const fail = (step, msg) => failures.push(`[${step}] ${msg}`);
const rel = (f) => path.relative(root, f);

function walk(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

const project = JSON.parse(fs.readFileSync(path.join(root, "sfdx-project.json"), "utf8"));
const files = project.packageDirectories.flatMap((d) => walk(path.join(root, d.path)));
const classFiles = files.filter((f) => f.endsWith(".cls")).sort();

// ---- 1. Apex parser: which one, loudly ---------------------------------------------------
function chooseParser() {
  const platform = `${process.platform}-${process.arch}`;
  try {
    const bin = require.resolve(`@prettier-apex/apex-ast-serializer-${platform}/apex-ast-serializer-${platform}`);
    fs.accessSync(bin, fs.constants.X_OK);
    return { option: "native", what: `native executable ${path.relative(here, bin)}` };
  } catch {
    // no prebuilt executable for this platform (or npm skipped optional dependencies)
  }
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.status === 0) {
    const version = (java.stderr || java.stdout).split("\n")[0];
    return { option: "none", what: `Java CLI parser on ${version}` };
  }
  console.error(
    `check: FAILED: no Apex parser. prettier-plugin-apex needs its native executable ` +
      `(@prettier-apex/apex-ast-serializer-${platform}, an optional npm dependency) or Java 17+ on PATH; ` +
      `found neither. Run npm ci in ${rel(here) || "."} without --omit=optional, or install a JRE.`,
  );
  process.exit(2);
}
const parser = chooseParser();
console.log(`apex parser: ${parser.what}`);
if (classFiles.length === 0) {
  console.error(`check: FAILED: no .cls file under ${project.packageDirectories.map((d) => d.path).join(", ")}`);
  process.exit(2);
}

const parseOptions = { parser: "apex", apexStandaloneParser: parser.option };
const asts = new Map();
for (const file of classFiles) {
  const text = fs.readFileSync(file, "utf8");
  try {
    const ast = await apexPlugin.parsers.apex.parse(text, parseOptions);
    asts.set(file, { text, ast });
  } catch (e) {
    fail("parse", `${rel(file)}: ${String(e.message ?? e).trim()}`);
  }
}
console.log(`parse: ${asts.size}/${classFiles.length} classes parsed`);

// prettier --check, with this folder's .prettierrc.json
for (const file of classFiles) {
  const text = fs.readFileSync(file, "utf8");
  const config = (await prettier.resolveConfig(file)) ?? {};
  const options = { ...config, ...parseOptions, filepath: file, plugins: [apexPlugin] };
  try {
    if (!(await prettier.check(text, options))) {
      fail("format", `${rel(file)} is not formatted: run npm run format`);
    }
  } catch (e) {
    fail("format", `${rel(file)}: ${String(e.message ?? e).trim()}`);
  }
}
console.log(`format: ${classFiles.length} classes checked with prettier-plugin-apex`);

// ---- 2. sfdx-project.json against the official schema -------------------------------------
{
  const schema = require("@salesforce/schemas/sfdx-project.schema.json");
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  if (!validate(project)) {
    for (const e of validate.errors) fail("schema", `sfdx-project.json${e.instancePath} ${e.message}`);
  }
  const version = require("@salesforce/schemas/package.json").version;
  console.log(`schema: sfdx-project.json checked against @salesforce/schemas ${version}`);
}

// ---- 3. metadata XML ----------------------------------------------------------------------
{
  const xmlFiles = files.filter((f) => f.endsWith(".xml"));
  for (const file of xmlFiles) {
    const text = fs.readFileSync(file, "utf8");
    const result = XMLValidator.validate(text);
    if (result !== true) {
      fail("xml", `${rel(file)}:${result.err.line}:${result.err.col}: ${result.err.msg}`);
      continue;
    }
    const rootTag = text.replace(/<\?xml[^>]*\?>/, "").replace(/<!--[\s\S]*?-->/g, "").match(/<([A-Za-z]+)\b[^>]*>/);
    if (!rootTag || !rootTag[0].includes(`xmlns="${METADATA_NS}"`)) {
      fail("xml", `${rel(file)}: root element is not in the namespace ${METADATA_NS}`);
    }
  }
  for (const cls of classFiles) {
    if (!fs.existsSync(`${cls}-meta.xml`)) fail("xml", `${rel(cls)} has no ${path.basename(cls)}-meta.xml`);
  }
  for (const meta of files.filter((f) => f.endsWith(".cls-meta.xml"))) {
    if (!fs.existsSync(meta.replace(/-meta\.xml$/, ""))) fail("xml", `${rel(meta)} has no class beside it`);
  }
  console.log(`xml: ${xmlFiles.length} metadata files well-formed; class/meta pairs checked`);
}

// ---- 4. static branch coverage ------------------------------------------------------------
const kind = (node) => String(node?.["@class"] ?? "").split(".").pop();
function visit(node, fn) {
  if (Array.isArray(node)) return node.forEach((n) => visit(n, fn));
  if (!node || typeof node !== "object") return;
  fn(node);
  for (const [key, value] of Object.entries(node)) if (key !== "comments") visit(value, fn);
}
// jorje's Optional<T> is serialized as {value: T}, or {} when absent.
const unwrap = (o) => (o && typeof o === "object" && !o["@class"] ? o.value : o);
const isTestAnnotated = (modifiers) =>
  (modifiers ?? []).some((m) => kind(m) === "Modifier$Annotation" && /^istest$/i.test(m.name?.value ?? ""));

/** The branch bodies of a non-test class: [what, line, body statement]. */
function branches(ast) {
  const out = [];
  visit(ast, (node) => {
    switch (kind(node)) {
      case "Stmnt$IfElseBlock":
        node.ifBlocks.forEach((b, i) => out.push([i === 0 ? "if" : "else if", unwrap(b.stmnt)]));
        if (unwrap(node.elseBlock)) out.push(["else", unwrap(unwrap(node.elseBlock).stmnt)]);
        break;
      case "CatchBlock":
        out.push(["catch", unwrap(node.stmnt)]);
        break;
      case "Stmnt$ForLoop":
      case "Stmnt$WhileLoop":
      case "Stmnt$DoLoop":
        out.push(["loop", unwrap(node.stmnt)]);
        break;
      default:
        if (/^WhenBlock\$/.test(kind(node))) out.push(["when", unwrap(node.stmnt)]);
    }
  });
  return out;
}

function commentsIn(ast, start, end) {
  return ast.comments.filter((c) => c.location.startIndex >= start && c.location.endIndex <= end);
}

{
  const tags = new Map(); // tag -> where
  const covered = new Map(); // tag -> test methods
  let testClasses = 0;
  for (const [file, { text, ast }] of asts) {
    const lineOf = (index) => text.slice(0, index).split("\n").length;
    let classDecl;
    visit(ast, (n) => {
      if (!classDecl && kind(n) === "ClassDecl") classDecl = n;
    });
    if (isTestAnnotated(classDecl?.modifiers)) {
      testClasses++;
      visit(ast, (n) => {
        const body = unwrap(n.stmnt);
        if (kind(n) !== "MethodDecl" || !isTestAnnotated(n.modifiers) || !body?.loc) return;
        for (const c of commentsIn(ast, body.loc.startIndex, body.loc.endIndex)) {
          const m = c.value.match(/^\/\/\s*covers:\s*(.+)$/);
          if (!m) continue;
          for (const tag of m[1].split(",").map((t) => t.trim()).filter(Boolean)) {
            if (!covered.has(tag)) covered.set(tag, []);
            covered.get(tag).push(n.name.value);
          }
        }
      });
      continue;
    }
    visit(ast, (n) => {
      if (kind(n) === "Expr$TernaryExpr") {
        fail("branches", `${rel(file)}:${n.loc ? lineOf(n.loc.startIndex) : "?"}: ternary: write it as if/else so each branch can be tagged`);
      }
    });
    for (const [what, body] of branches(ast)) {
      const line = body?.loc ? lineOf(body.loc.startIndex) : "?";
      if (kind(body) !== "Stmnt$BlockStmnt") {
        fail("branches", `${rel(file)}:${line}: ${what} branch without braces cannot carry a branch tag`);
        continue;
      }
      const firstStatement = body.stmnts.find((s) => s?.loc)?.loc.startIndex ?? body.loc.endIndex;
      const tagComments = commentsIn(ast, body.loc.startIndex, firstStatement)
        .map((c) => c.value.match(/^\/\/\s*branch:\s*([a-z0-9][a-z0-9-]*)\s*$/))
        .filter(Boolean);
      if (tagComments.length !== 1) {
        fail("branches", `${rel(file)}:${line}: ${what} branch must start with one "// branch: <tag>" comment`);
        continue;
      }
      const tag = tagComments[0][1];
      const where = `${rel(file)}:${line}`;
      if (tags.has(tag)) fail("branches", `${where}: tag "${tag}" is also used at ${tags.get(tag)}`);
      else tags.set(tag, where);
    }
  }
  if (testClasses === 0) fail("branches", "no @IsTest class found");
  const uncovered = [...tags].filter(([tag]) => !covered.has(tag));
  for (const [tag, where] of uncovered) fail("branches", `branch "${tag}" (${where}) is named by no test method ("// covers: ${tag}")`);
  for (const [tag, methods] of covered) {
    if (!tags.has(tag)) fail("branches", `test ${methods.join(", ")} covers "${tag}", which no branch is tagged`);
  }
  console.log(`branches: ${tags.size} tagged branches, ${tags.size - uncovered.length} named by a test (${testClasses} test class(es))`);
}

if (failures.length > 0) {
  console.error(`\ncheck: FAILED (${failures.length}):`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log("check: all Salesforce package checks passed");
