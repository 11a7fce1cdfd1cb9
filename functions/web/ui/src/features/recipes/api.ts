// The recipes feature's server state: recipes, their runs (a recipe run polled until it
// ends), the templates a step may use, and the CRM automation settings (owners and admins).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import type { Me } from "../../api/session";
import { recipeRunOver, type Recipe, type RecipeInput } from "./logic";

export const recipesKey = ["recipes"] as const;
export const recipeKey = (id: string) => ["recipes", "one", id] as const;
export const recipeRunsKey = (recipeId?: string) => ["recipe-runs", "list", recipeId ?? "all"] as const;
export const recipeRunKey = (id: string) => ["recipe-runs", "one", id] as const;
export const automationKey = ["account", "automation"] as const;

export function useRecipes() {
  return useInfiniteQuery({
    queryKey: recipesKey,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => unwrap(api.GET("/recipes", { params: { query: pageParam ? { limit: 50, cursor: pageParam } : { limit: 50 } } })),
    getNextPageParam: (page) => page.cursor ?? undefined,
  });
}

export function useRecipe(id: string | undefined) {
  return useQuery({
    queryKey: recipeKey(id ?? ""),
    enabled: id !== undefined,
    queryFn: () => unwrap(api.GET("/recipes/{id}", { params: { path: { id: id ?? "" } } })),
  });
}

/** Recipe runs, newest first (one recipe's when given), asked again while any is still going. */
export function useRecipeRuns(recipeId?: string) {
  return useQuery({
    queryKey: recipeRunsKey(recipeId),
    queryFn: () => unwrap(api.GET("/recipe-runs", { params: { query: recipeId ? { recipe_id: recipeId, limit: 10 } : { limit: 10 } } })),
    refetchInterval: (q) => (q.state.data?.recipe_runs.some((r) => !recipeRunOver(r.status)) ? 2000 : false),
  });
}

/** The recipe run, asked again every second until it ends. */
export function useRecipeRun(id: string) {
  return useQuery({
    queryKey: recipeRunKey(id),
    queryFn: () => unwrap(api.GET("/recipe-runs/{id}", { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && recipeRunOver(q.state.data.status) ? false : 1000),
  });
}

/** Every template (grid included: the editor leaves it out with a reason), the first 100. */
export function useAllTemplates() {
  return useQuery({
    queryKey: ["templates", "list", "all"],
    queryFn: () => unwrap(api.GET("/templates", { params: { query: { limit: 100 } } })),
  });
}

export const mayManageAutomation = (me: Pick<Me, "role">) => me.role === "owner" || me.role === "admin";

/** The CRM automation settings; only owners and admins may read them. */
export function useAutomation(me: Pick<Me, "role"> | undefined) {
  return useQuery({
    queryKey: automationKey,
    enabled: me !== undefined && mayManageAutomation(me),
    queryFn: () => unwrap(api.GET("/account/automation")),
  });
}

export function useSaveRecipe(recipe: Recipe | undefined) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: RecipeInput) =>
      recipe
        ? unwrap(api.PUT("/recipes/{id}", { params: { path: { id: recipe.id }, header: { "If-Match": `"${recipe.version}"` } }, body }))
        : unwrap(api.POST("/recipes", { body })),
    onSuccess: async (saved) => {
      client.setQueryData(recipeKey(saved.id), saved);
      await client.invalidateQueries({ queryKey: recipesKey, exact: true });
    },
  });
}

export function useDeleteRecipe() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (recipe: Recipe) => unwrap(api.DELETE("/recipes/{id}", { params: { path: { id: recipe.id }, header: { "If-Match": `"${recipe.version}"` } } })),
    onSuccess: async (_, recipe) => {
      client.removeQueries({ queryKey: recipeKey(recipe.id) });
      await client.invalidateQueries({ queryKey: recipesKey, exact: true });
    },
  });
}

/** Run now on all the object's records: the recipe run to follow. */
export function useRunRecipe() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (recipe: Pick<Recipe, "id">) => unwrap(api.POST("/recipes/{id}/runs", { params: { path: { id: recipe.id } }, body: { scope: "all" } })),
    onSuccess: async (run) => {
      client.setQueryData(recipeRunKey(run.id), run);
      await client.invalidateQueries({ queryKey: ["recipe-runs", "list"] });
    },
  });
}
