// What the sign-in page says when single sign-on does not sign someone in;
// no server imports, so the page's client code can read it too.

/** Pagoda's own refusals of a sign-in through the identity provider (lib/auth/oidc.ts). */
const OIDC_REFUSALS = {
  OidcEmailUnverified:
    "Your identity provider has not verified your email address, so Pagoda cannot sign you in with it. Verify the address there, then try again.",
  OidcNoEmail: "Your identity provider did not give Pagoda a usable email address, so it cannot sign you in. Ask its administrator to release the email claim.",
  OidcAccountConflict:
    "An account with your email address already exists and is linked to another identity at this provider. Sign in the way you did before, or ask an owner for help.",
} as const;
export type OidcRefusal = keyof typeof OIDC_REFUSALS;

/** next-auth's codes for a sign-in through a provider that failed on the way (state, nonce or PKCE mismatch, a refused code exchange). */
export const OIDC_FLOW_ERRORS: Record<string, string> = {
  ...OIDC_REFUSALS,
  OAuthSignin: "Single sign-on could not be started. Try again in a moment.",
  OAuthCallback: "Single sign-on did not complete: the answer from the identity provider could not be checked. Start again from this page.",
  Callback: "Single sign-on did not complete. Start again from this page.",
  AccessDenied: "The sign-in was cancelled or refused at the identity provider.",
};
