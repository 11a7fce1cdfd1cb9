// The settings screens' server state: the team, the CRM's users, the schedules. Each write
// invalidates what it changed; GET /me too when the change may be the signed-in person's.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";

export const teamKey = ["team"] as const;
export const crmUsersKey = ["team", "crm-users"] as const;
export const schedulesKey = ["schedules"] as const;

export function useTeam() {
  return useQuery({ queryKey: teamKey, queryFn: () => unwrap(api.GET("/team/members")) });
}

export function useCrmUsers(enabled: boolean) {
  return useQuery({ queryKey: crmUsersKey, queryFn: () => unwrap(api.GET("/team/crm-users")), enabled, staleTime: 60_000 });
}

export function useSchedules() {
  return useInfiniteQuery({
    queryKey: schedulesKey,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/schedules", { params: { query: pageParam ? { limit: 50, cursor: pageParam } : { limit: 50 } } })),
    getNextPageParam: (page) => page.cursor ?? undefined,
  });
}
