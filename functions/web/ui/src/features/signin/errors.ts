// What each refused sign-in means and what to do next, by the code the sign-in callback
// puts in `/signin?error=<code>` (docs/api.md lists them).
export interface SignInError {
  title: string;
  what: string;
  next: string;
}

export const SIGN_IN_ERRORS: Record<string, SignInError> = {
  consent_denied: {
    title: "Access was not allowed",
    what: "You chose not to let Steward use your CRM account.",
    next: "Sign in again and choose Allow. Steward reads and changes records only in the runs you start.",
  },
  app_blocked: {
    title: "Your CRM blocks Steward",
    what: "An administrator of your CRM has not approved the Steward app, or has blocked it.",
    next: "Ask your CRM administrator to approve the Steward app, then sign in again.",
  },
  not_invited: {
    title: "You are not on this account's team",
    what: "Your CRM account already uses Steward, and you have not been invited to it.",
    next: "Ask the account's owner or an admin to invite you from Settings → Users, then sign in again.",
  },
  inactive_user: {
    title: "Your CRM user is deactivated",
    what: "The CRM says your user is not active.",
    next: "Ask your CRM administrator to reactivate your user, then sign in again.",
  },
  removed: {
    title: "You were removed from this team",
    what: "An owner or admin removed you from this account's team in Steward.",
    next: "Ask the account's owner or an admin to invite you again.",
  },
  expired: {
    title: "The sign-in took too long",
    what: "The sign-in expired, or it was started in another browser or tab.",
    next: "Start again with one of the buttons below.",
  },
  crm_unavailable: {
    title: "The CRM did not answer",
    what: "Your CRM could not be reached or answered with an error while signing you in.",
    next: "Wait a minute and sign in again. If it keeps happening, check your CRM's status page.",
  },
};
