// What every browser test needs: a fresh `steward serve --demo` (its own data directory and
// free port, stopped after the file), signing in through the sandbox CRM's consent page as a
// person would, a screenshot of each screen, and axe-core on each screen.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

const here = dirname(fileURLToPath(import.meta.url));
export const uiRoot = resolve(here, "..");
export const repoRoot = resolve(uiRoot, "../../..");
export const screenshots = join(here, "screenshots");

/** The sandbox CRM's first user: the first to sign in to an account owns it. */
export const OWNER = { name: "Morgan Reyes", email: "morgan.reyes@acme-sandbox.com" };

export interface Steward {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
  /** The `.eml` files in the outbox (newest last). */
  outbox(): { name: string; text: string }[];
}

/** The steward binary the tests run (`STEWARD_BIN`, else the workspace's debug build). */
export function stewardBin(): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target");
  return process.env.STEWARD_BIN ?? join(target, "debug", "steward");
}

/** `steward serve --demo` on a free port, on a fresh data directory unless one is given. */
export async function startSteward(options: { dataDir?: string } = {}): Promise<Steward> {
  const bin = stewardBin();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "steward-e2e-"));
  const env: NodeJS.ProcessEnv = { ...process.env, STEWARD_WEB_DIR: process.env.STEWARD_WEB_DIR ?? join(uiRoot, "dist") };
  delete env.STEWARD_PORT;
  delete env.STEWARD_SECRETS_KEY;
  const proc: ChildProcess = spawn(bin, ["serve", "--demo", "--port", "0", "--data-dir", dataDir], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`steward serve --demo did not start in 60 s:\n${log}`)), 60_000);
    const read = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /steward serving on (\S+)/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    proc.stdout?.on("data", read);
    proc.stderr?.on("data", (c: Buffer) => (log += c.toString()));
    proc.on("exit", (code) => fail(new Error(`steward serve exited with ${code}:\n${log}`)));
  });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/health`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    },
    outbox() {
      const dir = join(dataDir, "outbox");
      let names: string[] = [];
      try {
        names = readdirSync(dir).filter((n) => n.endsWith(".eml")).sort();
      } catch {
        return [];
      }
      return names.map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
    },
  };
}

/**
 * Signs in from the page the browser is on (it must show the sign-in buttons), choosing
 * `who` on the sandbox CRM's consent page, and waits until the console is back.
 */
export async function signIn(page: Page, crm: "hubspot" | "salesforce", who = OWNER) {
  await page.getByRole("button", { name: crm === "hubspot" ? "Sign in with HubSpot" : "Sign in with Salesforce" }).or(
    page.getByRole("link", { name: crm === "hubspot" ? "Sign in with HubSpot" : "Sign in with Salesforce" }),
  ).first().click();
  if (crm === "hubspot") {
    await page.getByRole("button", { name: new RegExp(`Log in as ${who.name}`) }).click();
  } else {
    await page.getByRole("radio", { name: new RegExp(who.name) }).check();
    await page.getByRole("button", { name: "Allow" }).click();
  }
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
}

/** Opens `/signin`, signs in as `who` (the owner by default). */
export async function signedIn(page: Page, steward: Steward, crm: "hubspot" | "salesforce", who = OWNER) {
  await page.goto(`${steward.url}/signin`);
  await signIn(page, crm, who);
}

/**
 * A screen is done: a screenshot named for it (e2e/screenshots/<name>.png), and axe-core
 * finds no serious or critical violation on it.
 */
export async function screen(page: Page, name: string) {
  mkdirSync(screenshots, { recursive: true });
  // From the top: a full-page capture of a scrolled page draws the fixed header mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  // A dialog or menu still fading in is drawn, and checked by axe, half transparent: its
  // contrast is then whatever the fade has reached. Wait for every finite animation to end
  // (a spinner's runs for ever and is not waited for).
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity),
  );
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`),
    `axe on ${name}`,
  ).toEqual([]);
}
