// Benchmark (not a test): Grid Edit scrolled top to bottom through 5,000 records with the
// mouse wheel in Chromium, frames per second measured from requestAnimationFrame timestamps
// (min over 1-second windows, median, dropped frames). Target: never below 30 fps.
//
//   npx vite build && node bench/grid-scroll.mjs [--records 5000]
//
// `steward serve --demo` seeds 1,000 records per object (fixed), so this starts the sandbox
// CRM on its own (`steward sandbox --records N`) and `steward serve` signing in to it through
// the STEWARD_HUBSPOT_* variables (what --demo wires up in-process). STEWARD_BIN and
// STEWARD_WEB_DIR work as in e2e/steward.ts; STEWARD_CHROMIUM names the browser.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const uiRoot = resolve(here, "..");
const repoRoot = resolve(uiRoot, "../../..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RECORDS = Number(arg("records", "5000"));
const bin = process.env.STEWARD_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target"), "debug", "steward");
const webDir = process.env.STEWARD_WEB_DIR ?? join(uiRoot, "dist");

/** Chromium's flags, the browser tests' own (playwright.config.ts's CHROMIUM_FLAGS). */
function chromiumFlags() {
  const config = readFileSync(join(uiRoot, "playwright.config.ts"), "utf8");
  const m = /CHROMIUM_FLAGS\s*=\s*\[([^\]]*)\]/.exec(config);
  if (!m) throw new Error("playwright.config.ts has no CHROMIUM_FLAGS");
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

/** Frames per 1-second window (min, median), and frames dropped against 60 Hz. */
function fps(frames) {
  const windows = [];
  for (let t = frames[0]; t + 1000 <= frames[frames.length - 1]; t += 1000) windows.push(frames.filter((f) => f >= t && f < t + 1000).length);
  const sorted = [...windows].sort((a, b) => a - b);
  let dropped = 0;
  let longest = 0;
  for (let i = 1; i < frames.length; i++) {
    const d = frames[i] - frames[i - 1];
    longest = Math.max(longest, d);
    dropped += Math.max(0, Math.round(d / (1000 / 60)) - 1);
  }
  return { windows: windows.length, min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], frames: frames.length, dropped, longest };
}

/** Starts `steward <args>` and resolves with the first match of `pattern` in its output. */
function start(args, env, pattern) {
  const proc = spawn(bin, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`steward ${args[0]} did not start in 120 s:\n${log}`)), 120_000);
    const read = (chunk) => {
      log += chunk.toString();
      const m = pattern.exec(log);
      if (m) {
        clearTimeout(timer);
        ok(m);
      }
    };
    proc.stdout.on("data", read);
    proc.stderr.on("data", read);
    proc.on("exit", (code) => fail(new Error(`steward ${args[0]} exited with ${code}:\n${log}`)));
  });
  return { proc, ready };
}

async function stop(proc) {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
}

const env = { ...process.env };
delete env.STEWARD_PORT;
delete env.STEWARD_SECRETS_KEY;
const sandbox = start(["sandbox", "--port", "0", "--records", String(RECORDS)], env, /sandbox CRM on (\S+) .*client id (\S+), secret ([^)\s]+)\)/);
const procs = [sandbox.proc];
let browser;
try {
  const [, sandboxUrl, clientId, clientSecret] = await sandbox.ready;
  const serve = start(["serve", "--port", "0", "--data-dir", mkdtempSync(join(tmpdir(), "steward-bench-"))], {
    ...env,
    STEWARD_WEB_DIR: webDir,
    STEWARD_HUBSPOT_CLIENT_ID: clientId,
    STEWARD_HUBSPOT_CLIENT_SECRET: clientSecret,
    STEWARD_HUBSPOT_AUTHORIZE_URL: `${sandboxUrl}/hubspot/oauth/authorize`,
    STEWARD_HUBSPOT_API_URL: `${sandboxUrl}/hubspot`,
  }, /steward serving on (\S+)/);
  procs.push(serve.proc);
  const [, url] = await serve.ready;

  browser = await chromium.launch({ executablePath: process.env.STEWARD_CHROMIUM ?? "/usr/bin/chromium", args: chromiumFlags(), headless: true });
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  await page.goto(`${url}/signin`);
  await page.getByRole("button", { name: "Sign in with HubSpot" }).or(page.getByRole("link", { name: "Sign in with HubSpot" })).first().click();
  await page.getByRole("button", { name: /Log in as Morgan Reyes/ }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();

  // Contacts, five text columns, the largest page the view serves.
  await page.goto(`${url}/modules/grid`);
  const pick = async (label, option) => {
    await page.getByRole("combobox", { name: label, exact: true }).or(page.getByRole("textbox", { name: label, exact: true })).first().click();
    await page.getByRole("option", { name: option }).click();
  };
  for (const f of ["firstname", "lastname", "email", "company", "jobtitle"]) await pick("Columns", new RegExp(`\\(${f}\\)$`));
  await page.keyboard.press("Escape");
  await page.getByRole("textbox", { name: "Page size" }).fill("200");
  const grid = page.getByRole("grid", { name: "Records of contacts" });
  await grid.getByRole("row").nth(1).waitFor();

  // Frames: every requestAnimationFrame timestamp; first 5 s with the grid idle (what this
  // machine gives any page at the moment), then while the wheel scrolls.
  const idle = await page.evaluate(
    () =>
      new Promise((done) => {
        const frames = [];
        const tick = (t) => {
          frames.push(t);
          if (t - frames[0] < 5000) requestAnimationFrame(tick);
          else done(frames);
        };
        requestAnimationFrame(tick);
      }),
  );
  await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__frames = [];
    w.__recording = true;
    const tick = (t) => {
      w.__frames.push(t);
      if (w.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const scroller = page.locator("[data-grid-scroller]");
  await scroller.scrollIntoViewIfNeeded();
  await page.evaluate(() => document.querySelector("[data-grid-scroller]")?.scrollIntoView({ block: "end" }));
  const box = await scroller.boundingBox();
  if (!box) throw new Error("no grid on the page");
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const state = () =>
    page.evaluate(() => {
      const s = /** @type {HTMLElement} */ (document.querySelector("[data-grid-scroller]"));
      const status = [...document.querySelectorAll("[role=status]")].map((e) => e.textContent ?? "").find((t) => /loaded/.test(t)) ?? "";
      return {
        atBottom: s.scrollTop + s.clientHeight >= s.scrollHeight - 2,
        allLoaded: /all loaded/.test(status),
        loaded: Number((/([\d,]+) records? loaded/.exec(status)?.[1] ?? "0").replace(/,/g, "")),
        rowsInPage: s.querySelectorAll("tbody tr").length,
        scrollTop: s.scrollTop,
      };
    });
  // The renderer's main-thread time while scrolling, by kind (CDP Performance metrics).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const before = await metrics();
  const started = Date.now();
  let wheels = 0;
  let s = await state();
  while (!(s.atBottom && s.allLoaded)) {
    if (Date.now() - started > 300_000) throw new Error(`not at the bottom after 300 s: ${JSON.stringify(s)}`);
    await page.mouse.wheel(0, 120);
    wheels++;
    await page.waitForTimeout(16);
    if (wheels % 20 === 0) {
      s = await state();
      if (wheels === 100 && s.scrollTop === 0) throw new Error(`the wheel does not scroll the grid: ${JSON.stringify(s)}`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const frames = await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__recording = false;
    return /** @type {number[]} */ (w.__frames);
  });

  if (process.argv.includes("--verbose")) {
    // Each 1-second window's fps, `*` where a page of records arrived in it.
    const loads = await page.evaluate(() =>
      performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/grid/records")).map((e) => e.responseEnd),
    );
    const line = [];
    for (let t = frames[0]; t + 1000 <= frames[frames.length - 1]; t += 1000) {
      const n = frames.filter((f) => f >= t && f < t + 1000).length;
      line.push(`${n}${loads.some((l) => l >= t && l < t + 1000) ? "*" : ""}`);
    }
    console.log(`fps per second: ${line.join(" ")}`);
  }
  const after = await metrics();
  const spent = (k) => (after[k] - before[k]).toFixed(1);
  const scroll = fps(frames);
  const still = fps(idle);
  const [load1] = loadavg();
  console.log(
    `grid scroll: ${s.loaded.toLocaleString("en")} records, ${wheels} wheel events of 120 px over ${seconds.toFixed(1)} s, ` +
      `${s.rowsInPage} table rows in the page at the end; fps over ${scroll.windows} 1-second windows: min ${scroll.min}, median ${scroll.median}; ` +
      `${scroll.frames} frames, ${scroll.dropped} dropped (at 60 Hz), longest frame ${scroll.longest.toFixed(1)} ms ` +
      `(target: never below 30 fps: ${scroll.min >= 30 ? "met" : "NOT met"}); idle grid before: min ${still.min}, median ${still.median} fps; ` +
      `load average ${load1.toFixed(1)} on ${cpus().length} CPUs`,
  );
  console.log(
    `renderer main thread while scrolling: ${spent("TaskDuration")} s busy of ${seconds.toFixed(1)} s (script ${spent("ScriptDuration")} s, ` +
      `style ${spent("RecalcStyleDuration")} s, layout ${spent("LayoutDuration")} s); ${after.Nodes} DOM nodes at the end`,
  );
  // Control: the same wheel on a plain static table (no React, no virtualization) of the same
  // shape, in the same browser, so a reader can tell the machine's share from the grid's.
  const control = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  const cells = (i) => `<tr><th>${1000 + i}</th>${"<td>Some text value</td>".repeat(5)}</tr>`;
  await control.setContent(
    `<div id="s" style="height:560px;overflow:auto;width:1100px"><table style="font:14px sans-serif">${Array.from({ length: 2000 }, (_, i) => cells(i)).join("")}</table></div>`,
  );
  await control.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__frames = [];
    const tick = (t) => {
      w.__frames.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await control.mouse.move(500, 300);
  for (let i = 0; i < 300; i++) {
    await control.mouse.wheel(0, 120);
    await control.waitForTimeout(16);
  }
  const plain = fps(await control.evaluate(() => /** @type {any} */ (window).__frames));
  console.log(`control, a plain static 2,000-row table, 300 wheel events: fps min ${plain.min}, median ${plain.median}, ${plain.dropped} dropped`);
  if (s.loaded < RECORDS) console.log(`note: the grid held ${s.loaded} records, fewer than the ${RECORDS} asked for`);
} finally {
  await browser?.close();
  for (const p of procs.reverse()) await stop(p);
}
