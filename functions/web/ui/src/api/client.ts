// The console's API client: openapi-fetch typed by the `paths` that `npm run gen` generates
// from Steward's OpenAPI document, so a request or answer that drifts from the API is a
// type error. Same-origin: the session is the HttpOnly cookie the sign-in set.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

/** Methods that change state: Steward refuses them without the session's CSRF token. */
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export type StewardClient = ReturnType<typeof createStewardClient>;

/** A client of the Steward at `baseUrl` ("" for the console's own origin). */
export function createStewardClient(baseUrl = "") {
  const client = createClient<paths>({ baseUrl, credentials: "same-origin" });

  // The token belongs to the session: read once from GET /me, read again after the
  // session changed (a 401, a refused write, signing out).
  let token: Promise<string> | undefined;
  const csrfToken = (): Promise<string> => {
    token ??= client.GET("/me").then(({ data, response }) => {
      if (!data) {
        token = undefined;
        throw new Error(`GET /me answered ${response.status}: not signed in`);
      }
      return data.csrf_token;
    });
    return token;
  };

  const csrf: Middleware = {
    async onRequest({ request }) {
      if (!UNSAFE.has(request.method)) return undefined;
      request.headers.set("X-CSRF-Token", await csrfToken());
      return request;
    },
    onResponse({ request, response, schemaPath }) {
      const refusedWrite = response.status === 403 && UNSAFE.has(request.method);
      if (response.status === 401 || refusedWrite || schemaPath === "/auth/logout") {
        token = undefined;
      }
      return undefined;
    },
  };
  client.use(csrf);
  return client;
}

/** The console's client: same origin, cookie session. */
export const api = createStewardClient();
