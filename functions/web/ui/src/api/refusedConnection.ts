// A CRM connection the CRM refused, seen by any call (the API's sign-in-again problem):
// the shell shows it once, with the way back in, until the person signs in again (a full
// page load, which starts this afresh).
import { useSyncExternalStore } from "react";
import { isSignInAgain, type Problem } from "./problem";

let refused: Problem | undefined;
const listeners = new Set<() => void>();

/** Keeps the first sign-in-again problem among the errors it is shown. */
export function noteRefusedConnection(error: unknown) {
  if (!isSignInAgain(error) || refused) return;
  refused = error.problem;
  for (const listener of listeners) listener();
}

/** The refused connection's problem, if a call met one. */
export function refusedConnection(): Problem | undefined {
  return refused;
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function useRefusedConnection(): Problem | undefined {
  return useSyncExternalStore(subscribe, refusedConnection);
}
