import { expect, request as playwrightRequest, test, type APIRequestContext, type Browser } from "@playwright/test";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { buildZip } from "@/lib/uploads/test-support";
import { createSite, csrfToken, signUp, uniqueEmail } from "./support";

/** A signed-in browser context of a brand-new user, with the workspace it got. */
async function account(browser: Browser, label: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const tenant = await signUp(page, label, uniqueEmail(label));
  return { context, page, tenant, request: context.request };
}

async function json(request: APIRequestContext, method: "GET" | "POST" | "PATCH" | "DELETE", url: string, body?: unknown) {
  const headers = { "x-csrf-token": await csrfToken(request), "content-type": "application/json" };
  const response = await request.fetch(url, { method, headers, ...(body === undefined ? {} : { data: body }) });
  return { status: response.status(), body: await response.text() };
}

test("another tenant gets 404 on every page and API of a site, and changes nothing", async ({ browser }) => {
  const alice = await account(browser, "alice");
  await createSite(alice.page, "private");
  const mallory = await account(browser, "mallory");

  for (const path of [`/w/${alice.tenant}`, `/w/${alice.tenant}/sites/private`, `/w/${alice.tenant}/sites/private/settings`, `/w/${alice.tenant}/settings`]) {
    const response = await mallory.page.goto(path);
    expect(response?.status(), path).toBe(404);
    await expect(mallory.page.getByRole("heading", { name: "Not found" })).toBeVisible();
  }
  // Alice's site gets a deploy, so that its deploy routes have something to find.
  const zip = await buildZip([{ name: "index.html", data: "<h1>private</h1>" }]);
  await alice.page.locator("#site-zip").setInputFiles({ name: "private.zip", mimeType: "application/zip", buffer: zip });
  await expect(alice.page.getByText("private.zip was accepted as a new deploy.")).toBeVisible();
  const deployId = (JSON.parse((await json(alice.request, "GET", `/api/tenants/${alice.tenant}/sites/private/deploys`)).body) as { deploys: { id: string }[] })
    .deploys[0]!.id;

  const base = `/api/tenants/${alice.tenant}/sites/private`;
  const attempts = [
    await json(mallory.request, "GET", `/api/tenants/${alice.tenant}/sites`),
    await json(mallory.request, "POST", `/api/tenants/${alice.tenant}/sites`, { name: "planted" }),
    await json(mallory.request, "GET", base),
    await json(mallory.request, "DELETE", base),
    await json(mallory.request, "GET", `${base}/deploys`),
    await json(mallory.request, "POST", `${base}/deploys/${deployId}/promote`, {}),
    await json(mallory.request, "GET", `${base}/status`),
    await json(mallory.request, "GET", `${base}/settings`),
    await json(mallory.request, "PATCH", `${base}/settings`, { spa: true }),
    await json(mallory.request, "GET", `/api/tenants/${alice.tenant}/events`),
    await json(mallory.request, "GET", `/api/tenants/${alice.tenant}/tokens`),
    await json(mallory.request, "POST", `/api/tenants/${alice.tenant}/tokens`, { name: "planted", scopes: ["deploy"] }),
  ];
  const upload = await mallory.request.post(`${base}/deploys`, {
    headers: { "x-csrf-token": await csrfToken(mallory.request), "content-type": "application/zip" },
    data: zip,
  });
  attempts.push({ status: upload.status(), body: await upload.text() });
  for (const attempt of attempts) {
    expect(attempt.status).toBe(404);
    expect(attempt.body).not.toContain("private");
  }
  // Same answer as for a workspace that does not exist at all.
  expect((await json(mallory.request, "GET", "/api/tenants/does-not-exist/sites")).body).toBe(attempts[0]!.body);

  const own = await json(alice.request, "GET", `/api/tenants/${alice.tenant}/sites`);
  expect(JSON.parse(own.body).sites.map((s: { name: string }) => s.name)).toEqual(["private"]);
  const deploys = JSON.parse((await json(alice.request, "GET", `${base}/deploys`)).body) as { deploys: { id: string }[] };
  expect(deploys.deploys.map((d) => d.id)).toEqual([deployId]);
  const settings = JSON.parse((await json(alice.request, "GET", `${base}/settings`)).body) as { settings: { spa: boolean; notFoundPage: string | null } };
  expect(settings.settings).toMatchObject({ spa: false, notFoundPage: null });
  await alice.context.close();
  await mallory.context.close();
});

test("state-changing calls without the CSRF token are refused and change nothing", async ({ browser }) => {
  const alice = await account(browser, "csrf");
  const response = await alice.request.post(`/api/tenants/${alice.tenant}/sites`, { data: { name: "forged" } });
  expect(response.status()).toBe(403);
  expect(((await response.json()) as { error: { message: string } }).error.message).toContain("security token");
  const wrong = await alice.request.post(`/api/tenants/${alice.tenant}/sites`, { data: { name: "forged" }, headers: { "x-csrf-token": "0".repeat(64) } });
  expect(wrong.status()).toBe(403);
  const list = await alice.request.get(`/api/tenants/${alice.tenant}/sites`);
  expect(((await list.json()) as { sites: unknown[] }).sites).toEqual([]);
  await alice.context.close();
});

test("a tampered session cookie is treated as signed out", async ({ browser }) => {
  const alice = await account(browser, "tamper");
  const cookies = await alice.context.cookies();
  const session = cookies.find((cookie) => cookie.name.endsWith("next-auth.session-token"));
  expect(session).toBeDefined();
  const flipped = session!.value.slice(0, -4) + (session!.value.endsWith("AAAA") ? "BBBB" : "AAAA");
  await alice.context.addCookies([{ ...session!, value: flipped }]);

  const api = await alice.request.get(`/api/tenants/${alice.tenant}/sites`);
  expect(api.status()).toBe(401);
  expect(((await api.json()) as { error: { message: string } }).error.message).toContain("Sign in again");
  await alice.page.goto(`/w/${alice.tenant}`);
  await expect(alice.page).toHaveURL(/\/signin\?callbackUrl=/);
  await alice.context.close();
});

test("the API refuses bodies that are not JSON with a specific message", async ({ browser }) => {
  const alice = await account(browser, "badjson");
  const token = await csrfToken(alice.request);
  const response = await alice.request.post(`/api/tenants/${alice.tenant}/sites`, {
    headers: { "x-csrf-token": token, "content-type": "application/json" },
    data: Buffer.from("{not json"),
  });
  expect(response.status()).toBe(400);
  expect(((await response.json()) as { error: { message: string } }).error.message).toBe("The request body is not valid JSON.");
  const notObject = await alice.request.post(`/api/tenants/${alice.tenant}/sites`, {
    headers: { "x-csrf-token": token, "content-type": "application/json" },
    data: Buffer.from('"just a string"'),
  });
  expect(((await notObject.json()) as { error: { message: string } }).error.message).toBe("The request body must be a JSON object.");
  await alice.context.close();
});

test("a token made on the settings page works with no cookie, only in its workspace, and stops when revoked", async ({ browser, baseURL }) => {
  const alice = await account(browser, "tokens");
  await createSite(alice.page, "handbook");
  const mallory = await account(browser, "tokens-other");
  await alice.page.goto(`/w/${alice.tenant}/settings`);
  await alice.page.getByLabel("Name").fill("ci-main");
  await alice.page.getByTestId("token-create").click();
  const token = (await alice.page.getByTestId("token-value").textContent())!.trim();
  expect(token).toMatch(/^pgd_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
  await expect(alice.page.getByTestId("token-row").filter({ hasText: "ci-main" })).toBeVisible();
  // Shown once: a reload lists the token without it.
  await alice.page.reload();
  await expect(alice.page.getByTestId("token-row").filter({ hasText: "ci-main" })).toBeVisible();
  await expect(alice.page.getByTestId("token-value")).toHaveCount(0);
  expect(await alice.page.content()).not.toContain(token);

  // A client with no cookies at all, as the CLI is.
  const cli = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${token}`, "user-agent": "pagoda-cli/0.0.0" } });
  const whoami = await cli.get("/api/token");
  expect(whoami.status()).toBe(200);
  expect(((await whoami.json()) as { token: { name: string; workspace: { slug: string } } }).token).toMatchObject({
    name: "ci-main",
    workspace: { slug: alice.tenant },
  });
  expect((await cli.get(`/api/tenants/${alice.tenant}/sites`)).status()).toBe(200);
  const elsewhere = await cli.get(`/api/tenants/${mallory.tenant}/sites`);
  expect(elsewhere.status()).toBe(404);
  expect(await elsewhere.text()).toBe(await (await cli.get("/api/tenants/does-not-exist/sites")).text());
  const inUrl = await playwrightRequest.newContext({ baseURL });
  expect((await inUrl.get(`/api/tenants/${alice.tenant}/sites?access_token=${token}`)).status()).toBe(401);

  await alice.page.getByTestId("token-row").filter({ hasText: "ci-main" }).getByTestId("token-revoke").click();
  await expect(alice.page.getByTestId("token-row").filter({ hasText: "ci-main" })).toContainText("Revoked");
  const revoked = await cli.get(`/api/tenants/${alice.tenant}/sites`);
  expect(revoked.status()).toBe(401);
  expect(((await revoked.json()) as { error: { message: string } }).error.message).toBe("This API token has been revoked.");
  await cli.dispose();
  await inUrl.dispose();
  await alice.context.close();
  await mallory.context.close();
});

test("a member of a workspace is told that only owners manage its tokens, and cannot create one", async ({ browser }) => {
  const alice = await account(browser, "token-owner");
  const bobEmail = uniqueEmail("token-member");
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page, "token-member", bobEmail);
  // Workspaces have no invitations yet: the membership is made directly.
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO "Membership" (id, "userId", "tenantId", role) SELECT $1, u.id, t.id, 'member' FROM "User" u, "Tenant" t WHERE u.email = $2 AND t.slug = $3`,
      [`m-${randomUUID()}`, bobEmail, alice.tenant],
    );
  } finally {
    await client.end();
  }
  await page.goto(`/w/${alice.tenant}/settings`);
  await expect(page.getByTestId("tokens-owners-only")).toContainText("Only owners of this workspace");
  await expect(page.getByTestId("token-create")).toHaveCount(0);
  const created = await json(context.request, "POST", `/api/tenants/${alice.tenant}/tokens`, { name: "sneaky", scopes: ["deploy"] });
  expect(created.status).toBe(403);
  expect(JSON.parse(created.body).error.message).toBe("Only owners of this workspace can do this. You are a member: ask an owner if you need it.");
  expect((await json(context.request, "GET", `/api/tenants/${alice.tenant}/tokens`)).status).toBe(403);
  await context.close();
  await alice.context.close();
});
