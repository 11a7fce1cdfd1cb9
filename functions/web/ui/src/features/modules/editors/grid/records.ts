// The grid's rows: POST /grid/records a page at a time (cursor paging), loaded as the
// person scrolls. Sorting is not offered by the view (a CRM scan pages in its own order).
import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../../../../api/client";
import { unwrap } from "../../../../api/problem";
import type { components } from "../../../../api/schema";

export type GridRecord = components["schemas"]["GridRecord"];
type GridConfig = components["schemas"]["GridConfig"];

/** The view's `limit` is 1 to 200; a config's page size may be up to 500. */
export const MAX_VIEW_PAGE = 200;

export function viewLimit(pageSize: number | undefined): number {
  return Math.min(Math.max(pageSize ?? 100, 1), MAX_VIEW_PAGE);
}

export function useGridRecords(config: GridConfig) {
  const limit = viewLimit(config.page_size);
  const filter = config.filter ?? null;
  return useInfiniteQuery({
    queryKey: ["grid", "records", config.object, config.columns, filter, limit],
    queryFn: ({ pageParam }) =>
      unwrap(api.POST("/grid/records", { body: { object: config.object, columns: config.columns, filter, limit, cursor: pageParam } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.cursor ?? undefined,
    enabled: Boolean(config.object) && config.columns.length > 0,
    staleTime: 30_000,
  });
}
