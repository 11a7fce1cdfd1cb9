// What each refused sign-in means and what to do next, by the code the sign-in callback
// puts in `/signin?error=<code>&crm=<crm>` (docs/api.md's table; signin.test.ts holds this
// list to the codes the OpenAPI document gives for the callback). `{CRM}` is the CRM's name.
export interface SignInError {
  title: string;
  what: string;
  next: string;
}

export const SIGN_IN_ERRORS: Record<string, SignInError> = {
  invalid_callback: {
    title: "Sign-in failed",
    what: "{CRM}'s answer carried no sign-in state or no authorization code, so it cannot be matched to a sign-in.",
    next: "Sign in again from Steward.",
  },
  expired: {
    title: "Sign-in expired",
    what: "This sign-in is unknown, took more than 10 minutes, or was already used (a reload or a back button).",
    next: "Sign in again.",
  },
  other_browser: {
    title: "Sign-in refused",
    what: "The sign-in was started in another browser or tab, so it is refused (it protects you from someone else's sign-in link).",
    next: "Sign in again from this browser.",
  },
  app_blocked: {
    title: "Steward is blocked in your Salesforce org",
    what: "Salesforce refused to let Steward's connected app sign you in.",
    next: "Your Salesforce admin: Setup → Connected Apps OAuth Usage → Steward → Install (or Unblock), then set who may use it; or give your user \"Approve Uninstalled Connected Apps\" (\"Use Any API Client\" where API Access Control is on). Then sign in again.",
  },
  consent_denied: {
    title: "Access was not granted",
    what: "You (or {CRM}) declined Steward's access on {CRM}'s consent page.",
    next: "Sign in again and choose Allow. If your {CRM} admin restricts apps, ask them to approve Steward.",
  },
  crm_error: {
    title: "Sign-in failed",
    what: "{CRM} answered the sign-in with an error.",
    next: "Sign in again; if it keeps failing, ask your {CRM} admin (the error is in Steward's log).",
  },
  code_rejected: {
    title: "Sign-in failed",
    what: "{CRM} refused the sign-in's authorization code (it was used already or expired).",
    next: "Sign in again.",
  },
  permission_missing: {
    title: "Permission missing",
    what: "{CRM} refused Steward a permission (scope) it needs.",
    next: "Ask your {CRM} admin to grant the scopes Steward asks for, then sign in again.",
  },
  crm_unavailable: {
    title: "{CRM} is not answering",
    what: "{CRM} could not be reached or is busy.",
    next: "Try again in a minute.",
  },
  crm_unexpected: {
    title: "Sign-in failed",
    what: "{CRM} answered something Steward cannot use.",
    next: "Try again; if it persists, tell your Steward admin.",
  },
  untrusted_address: {
    title: "Sign-in stopped",
    what: "{CRM} pointed Steward at an address that is not one of {CRM}'s own, so Steward did not follow it (and your connection was not saved).",
    next: "Try again; if it persists, tell your Steward admin (the address is in Steward's log).",
  },
  inactive_user: {
    title: "Your {CRM} user is inactive",
    what: "{CRM} says your user is deactivated.",
    next: "Ask your {CRM} admin to reactivate you.",
  },
  not_invited: {
    title: "You are not a member yet",
    what: "Your {CRM} account already uses Steward, but you have not been invited (or were removed).",
    next: "Ask an admin of your Steward account to invite you, then sign in again.",
  },
  invitation_expired: {
    title: "Your invitation has expired",
    what: "The invitation to join this Steward account is older than its expiry.",
    next: "Ask an admin of your Steward account to resend it, then sign in again.",
  },
  wrong_account: {
    title: "Wrong {CRM} account",
    what: "The integration user you signed in with belongs to another {CRM} org than this Steward account.",
    next: "Connect a user of this account's org (sign out of {CRM} first, or use a private window).",
  },
};

/** The error for `code`, with `{CRM}` named (HubSpot / Salesforce / "your CRM"). */
export function signInError(code: string, crm: string | null): SignInError {
  const name = crm === "hubspot" ? "HubSpot" : crm === "salesforce" ? "Salesforce" : "your CRM";
  const e = SIGN_IN_ERRORS[code] ?? {
    title: "Sign-in did not finish",
    what: `The sign-in was refused ({CRM} or Steward answered "${code}").`,
    next: "Sign in again. If it keeps happening, ask your Steward account's owner.",
  };
  const fill = (s: string) => s.replaceAll("{CRM}", name);
  return { title: fill(e.title), what: fill(e.what), next: fill(e.next) };
}
