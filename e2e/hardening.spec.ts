import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { sameSiteConflict } from "@/lib/config";
import { buildZip } from "@/lib/uploads/test-support";
import { findFreePort } from "@/scripts/lib/free-port";
import { cookieHeader, rawRequest, rowCounts } from "./raw-http";
import { createSite, csrfToken, PASSWORD, signOut, signUp, uniqueEmail } from "./support";

const TWENTY_MB = 20 * 1024 * 1024;
const SESSION = "next-auth.session-token";
const CSRF = "next-auth.csrf-token";

/** A signed-in browser context of a brand-new user, with the workspace it got and what its requests carry. */
async function account(browser: Browser, baseURL: string, label: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const tenant = await signUp(page, label, uniqueEmail(label));
  const token = await csrfToken(context.request);
  const cookies = await cookieHeader(context, baseURL);
  const value = (name: string) =>
    cookies
      .split("; ")
      .find((pair) => pair.startsWith(`${name}=`))!
      .slice(name.length + 1);
  return { context, page, tenant, token, cookies, session: value(SESSION), csrf: value(CSRF) };
}

/** The Cookie header with `name` set to `value` (or left out, for null), the other cookies as they were. */
function withCookie(header: string, name: string, value: string | null): string {
  const others = header.split("; ").filter((pair) => !pair.startsWith(`${name}=`));
  return [...others, ...(value === null ? [] : [`${name}=${value}`])].join("; ");
}

function nonceOf(policy: string | undefined | null): string {
  const match = /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy ?? "");
  expect(match, `a nonce in ${policy}`).not.toBeNull();
  return match![1]!;
}

const FIXED = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

function expectFixedHeaders(headers: Record<string, string | string[] | undefined>, what: string) {
  for (const [name, value] of Object.entries(FIXED)) expect(headers[name], `${name} on ${what}`).toBe(value);
  expect(headers["permissions-policy"], `permissions-policy on ${what}`).toMatch(/(^|, )camera=\(\)/);
  expect(headers["permissions-policy"]).toMatch(/(^|, )microphone=\(\)/);
  expect(headers["permissions-policy"]).toMatch(/(^|, )geolocation=\(\)/);
  // Served over http here: HSTS would be meaningless, and is only sent for an https NEXTAUTH_URL.
  expect(headers["strict-transport-security"], `HSTS on ${what}`).toBeUndefined();
}

function expectPagePolicy(policy: string | undefined, what: string) {
  const directives = (policy ?? "").split("; ");
  for (const directive of ["default-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'"]) {
    expect(directives, `${directive} on ${what}`).toContain(directive);
  }
  expect(directives.find((d) => d.startsWith("script-src"))).toBe(`script-src 'self' 'nonce-${nonceOf(policy)}' 'strict-dynamic'`);
  expect(policy).not.toContain("unsafe");
}

test.describe("security headers", () => {
  test("pages get a fresh script nonce and refuse framing; APIs a policy that allows nothing", async ({ browser, request, baseURL }) => {
    const signin = await rawRequest(`${baseURL}/signin`);
    expect(signin.status).toBe(200);
    expectFixedHeaders(signin.headers, "/signin");
    const policy = signin.headers["content-security-policy"] as string;
    expectPagePolicy(policy, "/signin");
    // Exactly one policy: the fixed fallback is replaced, not sent beside it.
    expect(policy).not.toContain("default-src 'none'");
    // Every script Next.js rendered carries this response's nonce.
    const scripts = [...signin.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonceOf(policy)}"`);
    expect(nonceOf((await rawRequest(`${baseURL}/signin`)).headers["content-security-policy"] as string)).not.toBe(nonceOf(policy));

    const alice = await account(browser, baseURL!, "headers");
    await createSite(alice.page, "framed");
    for (const path of [`/w/${alice.tenant}`, `/w/${alice.tenant}/sites/framed`, "/no-such-page"]) {
      const page = await rawRequest(`${baseURL}${path}`, { headers: { cookie: alice.cookies } });
      expect(page.status, path).toBe(path === "/no-such-page" ? 404 : 200);
      expectFixedHeaders(page.headers, path);
      expectPagePolicy(page.headers["content-security-policy"] as string, path);
    }
    const api = await rawRequest(`${baseURL}/api/tenants/${alice.tenant}/sites`, { headers: { cookie: alice.cookies } });
    expect(api.status).toBe(200);
    expectFixedHeaders(api.headers, "the sites API");
    expect(api.headers["content-security-policy"]).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    // A request with a body skips the proxy and still gets every fixed header.
    const created = await request.post(`/api/tenants/${alice.tenant}/sites`, {
      headers: { cookie: alice.cookies, "x-csrf-token": alice.token, "content-type": "application/json" },
      data: { name: "second" },
    });
    expect(created.status()).toBe(201);
    expectFixedHeaders(created.headers(), "create-site");
    expect(created.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    await alice.context.close();
  });

  test("a page on another origin cannot frame the sign-in page or a site page", async ({ browser, page, baseURL }) => {
    const alice = await account(browser, baseURL!, "framing");
    await createSite(alice.page, "clickjack");
    const targets = { signin: `${baseURL}/signin`, site: `${baseURL}/w/${alice.tenant}/sites/clickjack` };
    // The attacker's page, on a loopback port of its own: a different origin and a different site.
    const attacker = http.createServer((req, res) => {
      res.setHeader("content-type", "text/html");
      if (req.url === "/own") return void res.end("<h1>framable</h1>");
      const frames = [...Object.entries(targets), ["own", "/own"]]
        .map(([name, src]) => `<iframe name="${name}" src="${src}" onload="window.loaded.push('${name}')"></iframe>`)
        .join("");
      res.end(`<!doctype html><script>window.loaded = []</script>${frames}`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    try {
      const refusals: string[] = [];
      page.on("console", (message) => {
        if (message.text().includes("frame-ancestors")) refusals.push(message.text());
      });
      await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => (window as unknown as { loaded: string[] }).loaded.length === 3);
      // The page's own frame loads: the test can see a frame that works.
      await expect(page.frame({ name: "own" })!.getByRole("heading", { name: "framable" })).toBeVisible();
      for (const name of Object.keys(targets)) {
        const frame = page.frame({ name })!;
        expect(frame.url(), name).toMatch(/^chrome-error:/);
        await expect(frame.getByRole("heading")).toHaveCount(0);
      }
      expect(refusals.length).toBe(2);
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
      await alice.context.close();
    }
  });

  test("no page of the dashboard breaks its own policy", async ({ browser }) => {
    const context = await browser.newContext();
    const violations: string[] = [];
    await context.exposeBinding("reportViolation", ({ page }, text: string) => violations.push(`${page.url()}: ${text}`));
    await context.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        (window as unknown as { reportViolation: (text: string) => void }).reportViolation(
          `${event.violatedDirective} blocked ${event.blockedURI} (${event.sample})`,
        );
      });
    });
    const page: Page = await context.newPage();
    page.on("console", (message) => {
      if (/Content Security Policy|Permissions-Policy/.test(message.text())) violations.push(`${page.url()}: ${message.text()}`);
    });
    const email = uniqueEmail("policy");
    const tenant = await signUp(page, "Policy", email);
    await createSite(page, "strict");
    for (const version of ["one", "two"]) {
      const zip = await buildZip([{ name: "index.html", data: `<h1>${version}</h1>` }]);
      await page.locator("#site-zip").setInputFiles({ name: `${version}.zip`, mimeType: "application/zip", buffer: zip });
      await expect(page.getByText(`${version}.zip was accepted as a new deploy.`)).toBeVisible();
    }
    // Roll back to the first version; with a cluster, the promote waits for its StaticSite to be written.
    await page.getByTestId("deploy").nth(1).getByRole("button").click();
    await expect(page.getByTestId("deploy").nth(1)).toContainText("current target", { timeout: 30_000 });
    // The dialog adds a style element at run time: it must carry the page's nonce.
    await page.getByRole("button", { name: "Delete site" }).click();
    await expect(page.getByRole("dialog")).toBeVisible();
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("link", { name: "Sites" }).click();
    await expect(page.getByRole("link", { name: /strict/ })).toBeVisible();
    await page.goto("/no-such-page");
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
    await page.goto(`/w/${tenant}`);
    await signOut(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
    expect(violations).toEqual([]);
    await context.close();
  });
});

test.describe("request bodies", () => {
  test("a 20 MB body with no Content-Length to sign-up or create-site is refused with 413 before it is sent, and writes nothing", async ({
    browser,
    baseURL,
  }) => {
    const visitor = await browser.newContext();
    const visitorToken = await csrfToken(visitor.request);
    const visitorCookies = await cookieHeader(visitor, baseURL!);
    const alice = await account(browser, baseURL!, "bodies");
    const json = { "content-type": "application/json" };
    const before = await rowCounts();

    const signup = await rawRequest(`${baseURL}/api/signup`, {
      headers: { ...json, cookie: visitorCookies, "x-csrf-token": visitorToken },
      prefix: `{"name":"Big","email":"${uniqueEmail("big")}","password":"`,
      bodyBytes: TWENTY_MB,
    });
    const site = await rawRequest(`${baseURL}/api/tenants/${alice.tenant}/sites`, {
      headers: { ...json, cookie: alice.cookies, "x-csrf-token": alice.token },
      prefix: '{"name":"',
      bodyBytes: TWENTY_MB,
    });
    // A declared length over the limit is refused before a byte is read.
    const declared = await rawRequest(`${baseURL}/api/tenants/${alice.tenant}/sites`, {
      headers: { ...json, cookie: alice.cookies, "x-csrf-token": alice.token, "content-length": String(TWENTY_MB) },
      bodyBytes: TWENTY_MB,
    });
    for (const [what, answer] of Object.entries({ signup, site, declared })) {
      expect(answer.status, what).toBe(413);
      expect(JSON.parse(answer.body), what).toMatchObject({ error: { code: "too_large" } });
      // The answer came while most of the body was still unsent: nothing waited for all of it.
      expect(answer.sentBeforeAnswer, what).toBeLessThan(TWENTY_MB);
    }
    expect(await rowCounts()).toEqual(before);
    await visitor.close();
    await alice.context.close();
  });

  test("routes that take no body answer without reading one", async ({ browser, baseURL }) => {
    const alice = await account(browser, baseURL!, "nobody");
    await createSite(alice.page, "gone");
    const headers = { cookie: alice.cookies, "x-csrf-token": alice.token, "content-type": "application/octet-stream" };
    const base = `${baseURL}/api/tenants/${alice.tenant}/sites/gone`;
    const promote = await rawRequest(`${base}/deploys/no-such-deploy/promote`, { headers, bodyBytes: TWENTY_MB });
    expect(promote.status).toBe(404);
    expect(promote.sentBeforeAnswer).toBeLessThan(TWENTY_MB);
    const removed = await rawRequest(base, { method: "DELETE", headers, bodyBytes: TWENTY_MB });
    expect(removed.status).toBe(204);
    expect(removed.sentBeforeAnswer).toBeLessThan(TWENTY_MB);
    await alice.context.close();
  });
});

test.describe("malformed cookies", () => {
  test("a garbled session cookie reads as signed out on every page and API, never a 500", async ({ browser, baseURL }) => {
    const alice = await account(browser, baseURL!, "garbled");
    await createSite(alice.page, "kept");
    const garbled: Record<string, string | null> = {
      "bad percent-encoding": "%E0%A4%A",
      "a lone percent sign": "%",
      "an encoded NUL and invalid UTF-8": "%00%01%FF",
      "a token-shaped forgery": "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.BBBB.CCCCCCCCCCCCCCCCCCCCCC",
      "quotes and commas": '"a,b;c"',
      "3,000 characters": "A".repeat(3000),
    };
    const cases = Object.entries(garbled).map(([label, value]) => [label, withCookie(alice.cookies, SESSION, value)] as const);
    // next-auth splits long sessions over numbered chunks; broken chunks are just as foreign.
    cases.push(["broken chunks", withCookie(withCookie(alice.cookies, SESSION, null), `${SESSION}.0`, "abc") + `; ${SESSION}.1=%ZZ`]);
    for (const [label, cookie] of cases) {
      const get = (path: string) => rawRequest(`${baseURL}${path}`, { headers: { cookie } });
      const signin = await get("/signin");
      expect(signin.status, `/signin with ${label}`).toBe(200);
      for (const path of [`/w/${alice.tenant}`, `/w/${alice.tenant}/sites/kept`, "/"]) {
        const page = await get(path);
        expect(page.status, `${path} with ${label}`).toBe(307);
        expect(page.headers.location, `${path} with ${label}`).toMatch(/^\/signin/);
      }
      expect((await get(`/api/tenants/${alice.tenant}/sites`)).status, `sites API with ${label}`).toBe(401);
      const session = await get("/api/auth/session");
      expect(session.status, `session API with ${label}`).toBe(200);
      expect(JSON.parse(session.body), `session API with ${label}`).not.toHaveProperty("user");
      const post = await rawRequest(`${baseURL}/api/tenants/${alice.tenant}/sites`, {
        headers: { cookie, "x-csrf-token": alice.token, "content-type": "application/json" },
        prefix: '{"name":"planted"}',
      });
      expect(post.status, `create-site with ${label}`).toBe(401);
    }
    const sites = await alice.context.request.get(`/api/tenants/${alice.tenant}/sites`);
    expect(((await sites.json()) as { sites: { name: string }[] }).sites.map((s) => s.name)).toEqual(["kept"]);
    await alice.context.close();
  });

  test("a CSRF cookie with odd characters is a 403, never a 500", async ({ browser, baseURL }) => {
    const alice = await account(browser, baseURL!, "oddcsrf");
    await createSite(alice.page, "kept");
    const [token, hash] = decodeURIComponent(alice.csrf).split("|");
    const odd: Record<string, string> = {
      "double-encoded bad percent-encoding": "%25E0%25A4%25A",
      "a lone percent sign": `${token}%7C${hash}%`,
      "an encoded NUL": `${token}%7C${hash}%00`,
      "a third part": `${token}%7C${hash}%7Cextra`,
      "right-to-left override": `%E2%80%AE${token}%7C${hash}`,
      quotes: `"${token}|${hash}"`,
      "no separator": `${token}${hash}`,
    };
    for (const [label, value] of Object.entries(odd)) {
      const cookie = withCookie(alice.cookies, CSRF, value);
      const post = await rawRequest(`${baseURL}/api/tenants/${alice.tenant}/sites`, {
        headers: { cookie, "x-csrf-token": token!, "content-type": "application/json" },
        prefix: '{"name":"planted"}',
      });
      expect(post.status, label).toBe(403);
      expect(JSON.parse(post.body), label).toMatchObject({ error: { code: "csrf" } });
      const remove = await rawRequest(`${baseURL}/api/tenants/${alice.tenant}/sites/kept`, { method: "DELETE", headers: { cookie, "x-csrf-token": token! } });
      expect(remove.status, label).toBe(403);
      // Pages only read the session, which is intact.
      expect((await rawRequest(`${baseURL}/w/${alice.tenant}`, { headers: { cookie } })).status, label).toBe(200);
    }
    const sites = await alice.context.request.get(`/api/tenants/${alice.tenant}/sites`);
    expect(((await sites.json()) as { sites: { name: string }[] }).sites.map((s) => s.name)).toEqual(["kept"]);
    await alice.context.close();
  });

  test("a second session or CSRF cookie planted next to the victim's is trusted for neither", async ({ browser, baseURL }) => {
    const victim = await account(browser, baseURL!, "victim");
    const attacker = await account(browser, baseURL!, "tosser");
    await createSite(victim.page, "mine");
    const others = withCookie(victim.cookies, SESSION, null);
    // Cookie tossing: the attacker's own valid session, sent before or after the victim's.
    const orders: [string, string][] = [
      ["planted first", `${others}; ${SESSION}=${attacker.session}; ${SESSION}=${victim.session}`],
      ["planted last", `${others}; ${SESSION}=${victim.session}; ${SESSION}=${attacker.session}`],
    ];
    for (const [order, cookie] of orders) {
      const workspace = await rawRequest(`${baseURL}/`, { headers: { cookie } });
      expect(workspace.status, order).toBe(307);
      expect(workspace.headers.location, `${order}: signed out, not in either workspace`).toMatch(/^\/signin/);
      expect((await rawRequest(`${baseURL}/w/${attacker.tenant}`, { headers: { cookie } })).headers.location, order).toMatch(/^\/signin/);
      expect((await rawRequest(`${baseURL}/api/tenants/${victim.tenant}/sites`, { headers: { cookie } })).status, order).toBe(401);
      for (const tenant of [victim.tenant, attacker.tenant]) {
        const post = await rawRequest(`${baseURL}/api/tenants/${tenant}/sites`, {
          headers: { cookie, "x-csrf-token": victim.token, "content-type": "application/json" },
          prefix: '{"name":"fixated"}',
        });
        expect(post.status, `${order}, create-site in ${tenant}`).toBe(403);
        expect(JSON.parse(post.body)).toMatchObject({ error: { code: "conflicting_cookies" } });
      }
    }
    // Two CSRF cookies, both well-formed and signed: still not ours to choose.
    const twoCsrf = `${victim.cookies}; ${CSRF}=${attacker.csrf}`;
    const post = await rawRequest(`${baseURL}/api/tenants/${victim.tenant}/sites`, {
      headers: { cookie: twoCsrf, "x-csrf-token": decodeURIComponent(attacker.csrf).split("|")[0]!, "content-type": "application/json" },
      prefix: '{"name":"fixated"}',
    });
    expect(post.status).toBe(403);
    for (const who of [victim, attacker]) {
      const sites = await who.context.request.get(`/api/tenants/${who.tenant}/sites`);
      expect(((await sites.json()) as { sites: { name: string }[] }).sites.map((s) => s.name)).toEqual(who === victim ? ["mine"] : []);
    }
    await victim.context.close();
    await attacker.context.close();
  });
});

test.describe("dashboard and sites on different sites", () => {
  test("every dashboard host a tenant's page can toss cookies to in Chromium is one the start-up check refuses", async ({ page }) => {
    // One loopback server answers every *.localhost name (Chromium resolves them all to this machine).
    const received = new Map<string, string>();
    const server = http.createServer((req, res) => {
      received.set(req.headers.host!.replace(/:\d+$/, ""), req.headers.cookie ?? "");
      res.setHeader("content-type", "text/html");
      res.end("<!doctype html><p>ok</p>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const base of ["pagoda.localhost", "sites.pagoda.localhost", "localhost"]) {
        const tenantHost = `evil-tenant.${base}`;
        await page.context().clearCookies();
        await page.goto(`http://${tenantHost}:${port}/`);
        // The tenant's script tries every parent domain of its own host.
        await page.evaluate((host) => {
          const labels = host.split(".");
          for (let i = 0; i < labels.length; i += 1) document.cookie = `tossed=${i}; domain=${labels.slice(i).join(".")}; path=/`;
        }, tenantHost);
        for (const dashboard of ["localhost", "127.0.0.1", "dash.localhost", "pagoda.localhost", "dash.pagoda.localhost", `other-tenant.${base}`]) {
          if (dashboard === tenantHost) continue;
          await page.goto(`http://${dashboard}:${port}/`);
          const tossed = (received.get(dashboard) ?? "").includes("tossed=");
          const refusal = sameSiteConflict(dashboard, base);
          const what = `sites under ${base}, dashboard at ${dashboard}: cookie received ${tossed}, start-up check says ${refusal}`;
          // Every host a tenant can toss cookies to is refused; a host it cannot reach is refused
          // only when it lies under the base domain, where a site could be given its very name.
          if (tossed) expect(refusal, what).not.toBeNull();
          else if (refusal) expect(refusal, what).toContain("lies under PAGODA_BASE_DOMAIN");
        }
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("the dashboard refuses to start when its host and the sites share a registrable domain, unless told to allow it", async () => {
    const port = await findFreePort();
    const start = (extra: Record<string, string>) => {
      // No cluster for this second server: it only has to start, or not.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NODE_ENV: "production",
        NEXTAUTH_URL: "https://pagoda.example.com",
        PAGODA_BASE_DOMAIN: "sites.example.com",
        ...extra,
      };
      delete env.KUBECONFIG;
      const child = spawn("node_modules/.bin/next", ["start", "-p", String(port), "-H", "127.0.0.1"], { env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (part: Buffer) => (output += part.toString()));
      child.stderr.on("data", (part: Buffer) => (output += part.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      return { child, exited, output: () => output };
    };
    const healthy = () =>
      expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/api/healthz`).catch(() => null))?.status ?? 0, { timeout: 30_000 }).toBe(200);
    const stop = async (server: ReturnType<typeof start>) => {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGTERM");
      await server.exited;
    };

    const refused = start({});
    try {
      // Whichever comes first: the process gives up, or (the failure) it serves.
      const outcome = await Promise.race([refused.exited.then((code) => `exit ${code}`), healthy().then(() => "serving")]);
      expect(outcome).toBe("exit 1");
    } finally {
      await stop(refused);
    }
    for (const part of [
      "NEXTAUTH_URL",
      "PAGODA_BASE_DOMAIN sites.example.com",
      "share the registrable domain example.com",
      "PAGODA_BASE_DOMAIN=",
      "PAGODA_ALLOW_SAME_SITE_SITES=1",
    ]) {
      expect(refused.output()).toContain(part);
    }

    const allowed = start({ PAGODA_ALLOW_SAME_SITE_SITES: "1" });
    try {
      await healthy();
    } finally {
      await stop(allowed);
    }
  });
});
