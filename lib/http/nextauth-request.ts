import { ApiError } from "@/lib/http/errors";

/**
 * What the dashboard lets through to next-auth, by method and exact path
 * under /api/auth. next-auth itself reads only the first two segments
 * (action and provider) and ignores the rest, so `callback/credentials/x`
 * would be an ordinary sign-in to it; here anything not listed, extra
 * segments included, is 404 before next-auth sees it.
 */
const ALLOWED: Record<string, readonly (readonly string[])[]> = {
  // signin/oidc and callback/oidc exist only while single sign-on is configured; next-auth answers them otherwise as an unknown provider.
  GET: [["session"], ["csrf"], ["providers"], ["signin"], ["error"], ["callback", "oidc"]],
  POST: [["callback", "credentials"], ["signin", "oidc"], ["signout"]],
};

export function requireKnownAuthAction(method: string, segments: readonly string[]): void {
  // Compared segment by segment: an encoded slash inside one segment is not two segments.
  const known = ALLOWED[method]?.some((path) => path.length === segments.length && path.every((part, i) => part === segments[i]));
  if (!known) throw new ApiError(404, "not_found", "There is no such sign-in endpoint.");
}

/**
 * Whether next-auth would run the credentials check for this request: its
 * route handler takes the action from the first segment and the provider
 * from the second, and runs credentials only on POST. Kept apart from the
 * allow-list so that the limiter covers every such request even if the
 * list ever grows.
 */
export function isCredentialsSignIn(method: string, segments: readonly string[]): boolean {
  return method === "POST" && segments[0] === "callback" && segments[1] === "credentials";
}

/**
 * The sign-in form as next-auth will read it, or a specific refusal.
 * next-auth parses a form with Object.fromEntries, so a repeated key means
 * the last value, while a naive reader sees the first: a form with any key
 * twice is refused, so the limiter and next-auth read the same email. JSON
 * bodies, which next-auth also accepts, are refused because our own pages
 * never send one and one format is one thing to get right.
 */
export function credentialsForm(contentType: string | null, body: Uint8Array): Record<string, string> {
  const type = (contentType ?? "").toLowerCase();
  if (type.includes("application/json") || !type.includes("application/x-www-form-urlencoded")) {
    throw new ApiError(415, "unsupported_media_type", "Send the sign-in form as application/x-www-form-urlencoded.");
  }
  const params = new URLSearchParams(new TextDecoder().decode(body));
  const form: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(form, key)) {
      throw new ApiError(400, "duplicate_field", `The sign-in form has the field “${key.slice(0, 40)}” more than once. Send each field once.`);
    }
    form[key] = value;
  }
  return form;
}
