// The signed-in person: GET /me, cached; a 401 anywhere sends the browser to sign-in and
// back to where it was.
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "./client";
import { unwrap, ApiError } from "./problem";
import type { components } from "./schema";

export type Me = components["schemas"]["Me"];
export type ModuleId = keyof components["schemas"]["Permissions"];
export type Access = components["schemas"]["Permission"];

export const meKey = ["me"] as const;

export const meQuery = queryOptions({
  queryKey: meKey,
  queryFn: () => unwrap(api.GET("/me")),
  staleTime: 60_000,
  retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
});

export function useMe() {
  return useQuery(meQuery);
}

/** `/signin?return_to=<where the browser is now>`. */
export function signInPath(location: { pathname: string; search: string }): string {
  const here = `${location.pathname}${location.search}`;
  return here === "/" || here.startsWith("/signin") ? "/signin" : `/signin?return_to=${encodeURIComponent(here)}`;
}

/** Where signing in with `crm` starts; back at `returnTo` (a same-origin path) after. */
export function loginHref(crm: "hubspot" | "salesforce", returnTo?: string): string {
  return returnTo ? `/auth/${crm}/login?return_to=${encodeURIComponent(returnTo)}` : `/auth/${crm}/login`;
}

/** Signing in again with the account's CRM, back to where the browser is now. */
export function signInAgainHref(crm: Me["account"]["crm"], location: { pathname: string; search: string }): string | undefined {
  if (crm === "csv") return undefined;
  const here = `${location.pathname}${location.search}`;
  return loginHref(crm, here === "/" ? undefined : here);
}

export function can(me: Me | undefined, module: ModuleId, need: "read" | "write"): boolean {
  const p = me?.permissions[module];
  return need === "read" ? p === "read" || p === "write" : p === "write";
}
