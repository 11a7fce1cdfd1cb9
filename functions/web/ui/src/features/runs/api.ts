// The runs feature's server state: a run (polled until it ends), its rows a page at a time,
// and the writes a run page makes (cancel, revert, apply the reviewed preview).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import type { components } from "../../api/schema";
import { hasRows, stillChanging, type Run } from "./logic";

export type RowAction = components["schemas"]["RowAction"];
export type RowOutcome = components["schemas"]["RowStatus"];
export type ApplyInput = components["schemas"]["ApplyInput"];

export const runKey = (id: string) => ["run", id] as const;

/** The run, asked again every second until it ends and its report has gone out. */
export function useRun(id: string) {
  return useQuery({
    queryKey: runKey(id),
    queryFn: () => unwrap(api.GET("/runs/{id}", { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && !stillChanging(q.state.data) ? false : 1000),
  });
}

export const ROWS_PAGE = 100;

/** The run's rows, `ROWS_PAGE` at a time, filtered by action and outcome. */
export function useRunRows(run: Run | undefined, action: RowAction | undefined, outcome: RowOutcome | undefined) {
  const id = run?.id ?? "";
  return useInfiniteQuery({
    // The CSV is written once, when the run ends: its size names its version.
    queryKey: ["run-rows", id, run?.csv?.bytes ?? null, action ?? null, outcome ?? null],
    enabled: run !== undefined && hasRows(run),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => {
      const query: { limit: number; cursor?: string; action?: RowAction; outcome?: RowOutcome } = { limit: ROWS_PAGE };
      if (pageParam) query.cursor = pageParam;
      if (action) query.action = action;
      if (outcome) query.outcome = outcome;
      return unwrap(api.GET("/runs/{id}/rows", { params: { path: { id }, query } }));
    },
    getNextPageParam: (page) => page.cursor ?? undefined,
  });
}

export function useCancelRun(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/runs/{id}/cancel", { params: { path: { id } } })),
    onSuccess: (run) => client.setQueryData(runKey(id), run),
  });
}

export function useRevertRun(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/runs/{id}/revert", { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: runKey(id) }),
  });
}

/** Applies the preview's stored plan minus the exclusions: a new run linked to the preview. */
export function useApplyReviewed(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ApplyInput) => unwrap(api.POST("/runs/{id}/apply", { params: { path: { id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: runKey(id) }),
  });
}
