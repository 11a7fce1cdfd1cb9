// The account's policy on what leaves it (GET /account/policy): the domains run reports
// may go to and how often a schedule may fire. Settings edits it; the Review step and the
// frequency builder say what it allows where people type recipients and frequencies.
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "./client";
import { unwrap } from "./problem";
import type { components } from "./schema";

export type AccountPolicy = components["schemas"]["AccountPolicy"];
export type PolicyInput = components["schemas"]["PolicyInput"];

export const policyKey = ["account-policy"] as const;

export const policyQuery = queryOptions({
  queryKey: policyKey,
  queryFn: () => unwrap(api.GET("/account/policy")),
  staleTime: 60_000,
});

export function usePolicy() {
  return useQuery(policyQuery);
}

/** `15 minutes`, `1 hour`, `90 minutes`, `2 days`: a whole number of minutes as people say it. */
export function minutesInWords(minutes: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes > 0 && minutes % 1440 === 0) return plural(minutes / 1440, "day");
  if (minutes > 0 && minutes % 60 === 0) return plural(minutes / 60, "hour");
  return plural(minutes, "minute");
}

/** `every minute`, `every 15 minutes`, `every hour`, `every 2 days`. */
export function everyInWords(minutes: number): string {
  const words = minutesInWords(minutes);
  return `every ${words.startsWith("1 ") ? words.slice(2) : words}`;
}

/** What the Notify tab says under the recipients when the admins limit them; undefined when anyone may get reports. */
export function recipientsHint(policy: AccountPolicy | undefined): string | undefined {
  const domains = policy?.allowed_recipient_domains ?? [];
  if (domains.length === 0) return undefined;
  return `Your admins allow reports only to addresses at ${listed(domains)}${domains.length === 1 ? " (or its subdomains)" : " (or their subdomains)"}.`;
}

/** `a`, `a or b`, `a, b or c`. */
function listed(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}
