/**
 * A browser for integration tests of single sign-on, without a browser:
 * next-auth's own handler for the dashboard side (the same one the route
 * calls) and plain fetch against the real OpenID provider, each with its
 * own cookie jar, following redirects by hand so a test can stop, look and
 * tamper at any step.
 */
import NextAuth from "next-auth";
import { authOptions } from "@/lib/auth/options";

/** Cookies by name, as a browser keeps them for one site. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  take(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && new Date(a.split("=")[1]!).getTime() < Date.now()));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, decodeURIComponent(value));
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("; ");
  }

  object(): Record<string, string> {
    return Object.fromEntries(this.cookies);
  }
}

export interface DashboardAnswer {
  status: number;
  location: string | null;
  body: unknown;
}

/** One request to /api/auth/<segments> through next-auth's handler, with the jar's cookies. */
export async function dashboardAuth(
  jar: CookieJar,
  method: "GET" | "POST",
  segments: string[],
  input: { query?: Record<string, string>; body?: Record<string, string> } = {},
): Promise<DashboardAnswer> {
  const headers: Record<string, string | string[]> = {};
  let status = 200;
  let body: unknown;
  const res = {
    status(code: number) {
      status = code;
      return res;
    },
    getHeader: (name: string) => headers[name.toLowerCase()],
    setHeader(name: string, value: string | string[]) {
      headers[name.toLowerCase()] = value;
      return res;
    },
    end() {},
    json(value: unknown) {
      body = value;
    },
    send(value: unknown) {
      body = value;
    },
  };
  const req = {
    method,
    query: { ...input.query, nextauth: segments },
    body: input.body,
    cookies: jar.object(),
    headers: { host: new URL(process.env.NEXTAUTH_URL!).host, ...(input.body ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
  };
  await NextAuth(req as never, res as never, authOptions());
  const setCookie = headers["set-cookie"];
  jar.take(setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]);
  const location = headers.location;
  return { status, location: typeof location === "string" ? location : null, body };
}

/** next-auth's CSRF token, as its client fetches it before a sign-in. */
export async function csrfToken(jar: CookieJar): Promise<string> {
  const answer = await dashboardAuth(jar, "GET", ["csrf"]);
  return (answer.body as { csrfToken: string }).csrfToken;
}

/** What the "Sign in with …" button does: POST /api/auth/signin/oidc; returns the provider's authorization URL. */
export async function startOidcSignIn(jar: CookieJar, callbackUrl = "/"): Promise<string> {
  const token = await csrfToken(jar);
  const answer = await dashboardAuth(jar, "POST", ["signin", "oidc"], {
    body: { csrfToken: token, callbackUrl: new URL(callbackUrl, process.env.NEXTAUTH_URL).toString(), json: "true" },
  });
  const url = (answer.body as { url?: string } | undefined)?.url;
  if (!url) throw new Error(`next-auth did not start the sign-in: ${JSON.stringify(answer)}`);
  return url;
}

/**
 * The person at the provider: follows its redirects, fills its sign-in page
 * with `login` (any password), accepts its consent page, and stops at the
 * redirect back to Pagoda, which it returns without following.
 */
export async function signInAtProvider(jar: CookieJar, authorizationUrl: string, login: string): Promise<URL> {
  const callbackPrefix = new URL("/api/auth/callback/oidc", process.env.NEXTAUTH_URL).toString();
  let next: { url: string; init?: RequestInit } = { url: authorizationUrl };
  for (let step = 0; step < 20; step += 1) {
    const response = await fetch(next.url, { ...next.init, redirect: "manual", headers: { ...(next.init?.headers as object), cookie: jar.header() } });
    jar.take(response.headers.getSetCookie());
    const location = response.headers.get("location");
    if (location) {
      const target = new URL(location, next.url);
      if (target.toString().startsWith(callbackPrefix)) return target;
      next = { url: target.toString() };
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`the provider answered ${response.status}: ${html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page: ${html.slice(0, 500)}`);
    const form: Record<string, string> = prompt === "login" ? { prompt, login, password: "any password" } : { prompt };
    next = {
      url: new URL(action.replace(/&amp;/g, "&"), next.url).toString(),
      init: { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() },
    };
  }
  throw new Error("too many steps at the provider");
}

/** The provider's redirect back, handed to next-auth's callback as the browser would. */
export async function finishOidcSignIn(jar: CookieJar, callback: URL): Promise<DashboardAnswer> {
  return dashboardAuth(jar, "GET", ["callback", "oidc"], { query: Object.fromEntries(callback.searchParams) });
}

/** The whole round trip for `login`; returns where next-auth sends the browser in the end. */
export async function oidcSignIn(login: string, jar = new CookieJar(), providerJar = new CookieJar()): Promise<{ jar: CookieJar; answer: DashboardAnswer }> {
  const authorizationUrl = await startOidcSignIn(jar);
  const callback = await signInAtProvider(providerJar, authorizationUrl, login);
  return { jar, answer: await finishOidcSignIn(jar, callback) };
}

/** A password sign-in through next-auth's credentials endpoint. */
export async function passwordSignIn(jar: CookieJar, email: string, password: string): Promise<DashboardAnswer> {
  const token = await csrfToken(jar);
  return dashboardAuth(jar, "POST", ["callback", "credentials"], { body: { csrfToken: token, email, password, json: "true" } });
}
