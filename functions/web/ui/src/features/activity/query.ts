// The Activity Tracker's list query, apart from its screen: the console's first script asks
// for the first page when the browser opens /activity, beside GET /me and the screen's code.
import { infiniteQueryOptions, type QueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import { filtersFromSearch, rangeProblem, toRunsQuery, type ActivityFilters } from "./filters";

const PAGE = 50;

export function runsQuery(filters: ActivityFilters) {
  return infiniteQueryOptions({
    queryKey: ["runs", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => {
      const query = toRunsQuery(filters, PAGE);
      if (pageParam) query.cursor = pageParam;
      return unwrap(api.GET("/runs", { params: { query } }));
    },
    getNextPageParam: (page) => page.cursor ?? undefined,
    // Runs in progress change their counts: show the list fresh when one comes back to it.
    staleTime: 5_000,
  });
}

/** The first page of the list `search` (the address's query) names. */
export function prefetchRuns(client: QueryClient, search: string) {
  const first = filtersFromSearch(new URLSearchParams(search));
  if (!rangeProblem(first)) void client.prefetchInfiniteQuery(runsQuery(first));
}
