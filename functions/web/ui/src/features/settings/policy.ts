// The policy editor's form apart from React: what it starts from, what it sends, whether
// anything changed, and how the policy reads to someone who cannot change it.
import { everyInWords, type AccountPolicy, type PolicyInput } from "../../api/policy";

/** EventBridge Scheduler's floor, and the most the API takes (a week). */
export const MIN_INTERVAL = 1;
export const MAX_INTERVAL = 10_080;

export interface PolicyDraft {
  domains: string[];
  /** Minutes; `""` while the field is empty. */
  minutes: number | "";
}

export function policyDraft(p: AccountPolicy): PolicyDraft {
  return { domains: [...p.allowed_recipient_domains], minutes: p.min_schedule_interval_minutes };
}

/** Domains as typed: trimmed, a leading `@` dropped, lower-cased, each once. The API checks and stores them in ASCII. */
export function cleanDomains(typed: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of typed) {
    const d = t.trim().replace(/^@+/, "").toLowerCase();
    if (d && !out.includes(d)) out.push(d);
  }
  return out;
}

/** The PUT body; undefined while the minimum is empty. */
export function policyInput(d: PolicyDraft): PolicyInput | undefined {
  if (d.minutes === "") return undefined;
  return { allowed_recipient_domains: cleanDomains(d.domains), min_schedule_interval_minutes: d.minutes };
}

export function policyChanged(d: PolicyDraft, p: AccountPolicy): boolean {
  const a = cleanDomains(d.domains);
  const b = p.allowed_recipient_domains;
  return d.minutes !== p.min_schedule_interval_minutes || a.length !== b.length || a.some((x, i) => x !== b[i]);
}

/** The policy in two sentences, for members who cannot change it. */
export function describePolicy(p: AccountPolicy): { reports: string; schedules: string } {
  const domains = p.allowed_recipient_domains;
  return {
    reports:
      domains.length === 0
        ? "Run reports can be emailed to any address."
        : `Run reports can be emailed only to addresses at ${domains.join(", ")} (subdomains included).`,
    schedules: `A schedule runs at most ${everyInWords(p.min_schedule_interval_minutes)}.`,
  };
}
