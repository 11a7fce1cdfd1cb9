// Problems (RFC 9457) as the console meets them: every failed call becomes an ApiError
// carrying the API's problem, so a form can show each `errors[].detail` beside the field
// its `pointer` names, and anything else in one alert.
import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];
export type FieldProblem = NonNullable<Problem["errors"]>[number];

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title);
    this.status = status;
    this.problem = problem;
  }
  /** The field problems, each at its JSON pointer (or parameter name). */
  get fields(): FieldProblem[] {
    return this.problem.errors ?? [];
  }
}

/** The problem type of a CRM connection the CRM refused: only signing in again fixes it. */
export const SIGN_IN_AGAIN = "https://steward.dev/problems/sign-in-again";

/** Whether `error` is the API's "sign in again" problem (403). */
export function isSignInAgain(error: unknown): error is ApiError {
  return error instanceof ApiError && error.problem.type === SIGN_IN_AGAIN;
}

function asProblem(status: number, body: unknown): Problem {
  if (body && typeof body === "object" && "title" in body) return body as Problem;
  return { type: "about:blank", title: `The server answered ${status}`, status, detail: typeof body === "string" ? body : "" };
}

/** The `data` of an openapi-fetch answer, or an ApiError with the API's problem. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await call;
  } catch (e) {
    throw new ApiError(0, { type: "about:blank", title: "Steward could not be reached", status: 0, detail: String(e) });
  }
  const { data, error, response } = answer;
  if (!response.ok) throw new ApiError(response.status, asProblem(response.status, error));
  return data as T;
}

/**
 * The message for the field at `pointer`: an exact match, or the first problem under it
 * (`/config/rules` shows a problem at `/config/rules/0/field` too when `deep`).
 */
export function errorAt(error: unknown, pointer: string, deep = false): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const hit = error.fields.find((f) => f.pointer === pointer || (deep && f.pointer.startsWith(`${pointer}/`)));
  return hit?.detail;
}

/** Field problems no field of the form claims: shown in the form's alert. */
export function unclaimed(error: unknown, claimed: (pointer: string) => boolean): FieldProblem[] {
  if (!(error instanceof ApiError)) return [];
  return error.fields.filter((f) => !claimed(f.pointer));
}
