/// <reference types="vitest/config" />
// The console's build: one SPA, content-hashed assets under dist/assets (served with an
// immutable cache by Steward), index.html served no-cache. `STEWARD_API` proxies the API
// to a running `steward serve` during `npm run dev`.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const api = process.env.STEWARD_API ?? "http://127.0.0.1:8080";
const apiPaths = ["/auth", "/me", "/team", "/templates", "/runs", "/grid", "/crm", "/schedules", "/health", "/openapi.json", "/_files"];

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: false }])) },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"], environment: "node" },
});
