import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App, preloadScreen, queryClient } from "./app/App";
import { meQuery } from "./api/session";

// Who is signed in, and the screen's code, are asked for at once, before the first render.
if (window.location.pathname !== "/signin") void queryClient.prefetchQuery(meQuery);
preloadScreen(window.location.pathname, window.location.search);

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
