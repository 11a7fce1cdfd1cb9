// The console: providers, and the screens by path. Feature screens load on demand, so the
// first page downloads only the shell.
import { lazy, Suspense } from "react";
import { createTheme, MantineProvider, Center, Loader } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { ApiError } from "../api/problem";
import { meKey } from "../api/session";
import { Shell } from "./Shell";
import { SignInPage } from "../features/signin/SignInPage";
import { HomePage } from "./HomePage";
import { NotFound } from "./NotFound";

const ModulePage = lazy(() => import("../features/modules/ModulePage"));
const ActivityPage = lazy(() => import("../features/activity/ActivityPage"));
const RunPage = lazy(() => import("../features/runs/RunPage"));
const UsersPage = lazy(() => import("../features/settings/UsersPage"));
const SchedulesPage = lazy(() => import("../features/settings/SchedulesPage"));
const AccountsPage = lazy(() => import("../features/settings/AccountsPage"));

const theme = createTheme({
  primaryColor: "blue",
  defaultRadius: "md",
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
});

/** A session that ended (401) anywhere: ask /me again, and the shell sends to sign-in. */
function onError(error: unknown) {
  if (error instanceof ApiError && error.status === 401) void queryClient.invalidateQueries({ queryKey: meKey });
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
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
    <MantineProvider theme={theme}>
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
