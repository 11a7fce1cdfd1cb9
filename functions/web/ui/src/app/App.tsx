// The console: providers, and the screens by path. Feature screens load on demand, so the
// first page downloads only the shell.
import { lazy, Suspense, type ComponentType } from "react";
import { createTheme, darken, Drawer, MantineProvider, Modal, Notification, Center, Loader, type CSSVariablesResolver } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { ApiError } from "../api/problem";
import { noteRefusedConnection } from "../api/refusedConnection";
import { meKey } from "../api/session";
import { Shell } from "./Shell";
import { SignInPage } from "../features/signin/SignInPage";
import { HomePage } from "./HomePage";
import { NotFound } from "./NotFound";
import { prefetchRuns } from "../features/activity/query";

/**
 * A screen loaded on demand. Once its code is here (preloaded, or shown before) it renders
 * at once: React.lazy would still suspend for a tick, and React holds a Suspense boundary's
 * content back for up to 300 ms after its fallback showed.
 */
function onDemand(load: () => Promise<{ default: ComponentType }>) {
  let loaded: ComponentType | undefined;
  const preload = () =>
    load().then((m) => {
      loaded = m.default;
      return m;
    });
  const Lazy = lazy(preload);
  function Screen() {
    const Loaded = loaded;
    return Loaded ? <Loaded /> : <Lazy />;
  }
  return { Screen, preload };
}

const screens = {
  module: onDemand(() => import("../features/modules/ModulePage")),
  activity: onDemand(() => import("../features/activity/ActivityPage")),
  run: onDemand(() => import("../features/runs/RunPage")),
  users: onDemand(() => import("../features/settings/UsersPage")),
  schedules: onDemand(() => import("../features/settings/SchedulesPage")),
  accounts: onDemand(() => import("../features/settings/AccountsPage")),
  recipes: onDemand(() => import("../features/recipes/RecipesPage")),
  recipe: onDemand(() => import("../features/recipes/RecipeEditPage")),
  recipeRun: onDemand(() => import("../features/recipes/RecipeRunPage")),
};
const ModulePage = screens.module.Screen;
const ActivityPage = screens.activity.Screen;
const RunPage = screens.run.Screen;
const UsersPage = screens.users.Screen;
const SchedulesPage = screens.schedules.Screen;
const AccountsPage = screens.accounts.Screen;
const RecipesPage = screens.recipes.Screen;
const RecipeEditPage = screens.recipe.Screen;
const RecipeRunPage = screens.recipeRun.Screen;

/**
 * Starts loading the screen of the address the browser opened, beside GET /me rather than
 * after it (a screen may start its own first query when it loads: the Activity Tracker does).
 */
export function preloadScreen(pathname: string, search = "") {
  const path = pathname.replace(/\/+$/, "");
  const screen =
    path.startsWith("/modules/") ? screens.module
    : path === "/activity" ? screens.activity
    : path.startsWith("/activity/") ? screens.run
    : path === "/settings/users" || path === "/settings" ? screens.users
    : path === "/settings/schedules" ? screens.schedules
    : path === "/settings/accounts" ? screens.accounts
    : path === "/automation/recipes" ? screens.recipes
    : path.startsWith("/automation/recipes/") ? screens.recipe
    : path.startsWith("/automation/recipe-runs/") ? screens.recipeRun
    : undefined;
  void screen?.preload();
  if (path === "/activity") prefetchRuns(queryClient, search);
}

// Colour contrast (WCAG AA, checked by axe on every screen): Mantine's defaults fall short
// of 4.5:1 for small text — shade 6 as the primary (filled buttons, links), the `light`
// variant's text (badges, alert titles, the active nav link, also on its hover background),
// `dimmed` text and input errors — so each is darker here.
const theme = createTheme({
  primaryColor: "blue",
  primaryShade: 8,
  defaultRadius: "md",
  // A person who asks their system for less motion gets no fades: notifications, dialogs
  // and menus appear and leave at once.
  respectReducedMotion: true,
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  // Close buttons are icons: they need a name for screen readers (axe: button-name).
  components: {
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { "aria-label": "Close" } } }),
    Drawer: Drawer.extend({ defaultProps: { closeButtonProps: { "aria-label": "Close" } } }),
    // A spinner's aria-label ("Loading rows") is only allowed on an element with a role:
    // each one is a live status, read out when it appears.
    Loader: Loader.extend({ defaultProps: { role: "status" } }),
    // Its description's default grey fails contrast on the white toast.
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { "aria-label": "Close" } },
      styles: { description: { color: "var(--mantine-color-gray-7)" } },
    }),
  },
});

const contrast: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    "--mantine-color-error": "var(--mantine-color-red-9)",
    ...Object.fromEntries(Object.entries(t.colors).map(([name, shades]) => [`--mantine-color-${name}-light-color`, darken(shades[9], 0.3)])),
  },
  dark: {},
});

/**
 * A session that ended (401) in any other call: ask /me again, and the shell sends to
 * sign-in when /me says so too (/me's own 401 must not ask again: it would loop).
 */
function ended(error: unknown, key?: readonly unknown[]) {
  if (!(error instanceof ApiError) || error.status !== 401) return;
  if (key && key[0] === meKey[0]) return;
  void queryClient.invalidateQueries({ queryKey: meKey });
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({
    onError: (error, query) => {
      ended(error, query.queryKey);
      noteRefusedConnection(error);
    },
  }),
  mutationCache: new MutationCache({
    onError: (error) => {
      ended(error);
      noteRefusedConnection(error);
    },
  }),
  defaultOptions: {
    queries: {
      refetchOnWindowFocus: false,
      retry: (n, e) => !(e instanceof ApiError && e.status > 0 && e.status < 500) && n < 2,
    },
  },
});

function Loading() {
  return (
    <Center h="50vh">
      <Loader aria-label="Loading" />
    </Center>
  );
}

export function App() {
  return (
    <MantineProvider theme={theme} cssVariablesResolver={contrast}>
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <Suspense fallback={<Loading />}>
            <Routes>
              <Route path="/signin" element={<SignInPage />} />
              <Route element={<Shell />}>
                <Route index element={<HomePage />} />
                <Route path="modules/:module" element={<ModulePage />} />
                <Route path="activity" element={<ActivityPage />} />
                <Route path="activity/:runId" element={<RunPage />} />
                <Route path="automation/recipes" element={<RecipesPage />} />
                <Route path="automation/recipes/:recipeId" element={<RecipeEditPage />} />
                <Route path="automation/recipe-runs/:recipeRunId" element={<RecipeRunPage />} />
                <Route path="settings" element={<Navigate to="/settings/users" replace />} />
                <Route path="settings/users" element={<UsersPage />} />
                <Route path="settings/schedules" element={<SchedulesPage />} />
                <Route path="settings/accounts" element={<AccountsPage />} />
                <Route path="*" element={<NotFound />} />
              </Route>
            </Routes>
          </Suspense>
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  );
}
