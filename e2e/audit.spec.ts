import { expect, test, type APIRequestContext, type Browser } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import pg from "pg";
import { buildZip } from "@/lib/uploads/test-support";
import { createSite, signUp, uniqueEmail } from "./support";

async function account(browser: Browser, label: string) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const email = uniqueEmail(label);
  const tenant = await signUp(page, label, email);
  return { context, page, tenant, email, request: context.request };
}

async function get(request: APIRequestContext, url: string) {
  const response = await request.get(url);
  return { status: response.status(), body: await response.text(), type: response.headers()["content-type"] ?? "" };
}

test("what an owner does in the browser shows on the audit page, a filter narrows it, the CSV downloads, and nobody else reads it", async ({ browser }) => {
  const alice = await account(browser, "audit-owner");
  const { page } = alice;
  await createSite(page, "audited");
  for (const version of ["one", "two"]) {
    const zip = await buildZip([{ name: "index.html", data: `<h1>${version}</h1>` }]);
    await page.locator("#site-zip").setInputFiles({ name: `${version}.zip`, mimeType: "application/zip", buffer: zip });
    await expect(page.getByText(`${version}.zip was accepted as a new deploy.`)).toBeVisible();
  }
  // Roll back to the first deploy: a promote.
  await page.getByTestId("deploy").nth(1).getByRole("button").click();
  await expect(page.getByTestId("deploy").nth(1)).toContainText("current target", { timeout: 30_000 });

  await page.getByTestId("nav-audit").click();
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
  const rows = page.getByTestId("audit-row");
  await expect(rows.first()).toHaveAttribute("data-action", "deploy.promote");
  const actions = await rows.evaluateAll((elements) => elements.map((e) => e.getAttribute("data-action")));
  expect(actions).toEqual(["deploy.promote", "deploy.upload", "deploy.upload", "site.create", "user.signup"]);
  await expect(rows.first()).toContainText("promoted a deploy");
  await expect(rows.first()).toContainText("audit-owner");
  await expect(rows.first()).toContainText("audited");

  // The filter is a plain GET form: the URL says what is shown.
  await page.getByLabel("Action").selectOption("deploy.upload");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=deploy.upload/);
  await expect(rows).toHaveCount(2);
  for (const row of await rows.all()) await expect(row).toHaveAttribute("data-action", "deploy.upload");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("audit-csv").click()]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^audit-${alice.tenant}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
  const csv = await readFile((await download.path())!, "utf8");
  const lines = csv.trimEnd().split("\r\n");
  expect(lines[0]).toBe("id,time,action,outcome,person,email,token,site,target,ip,details");
  expect(lines).toHaveLength(3);
  for (const line of lines.slice(1)) expect(line).toContain(`,deploy.upload,success,audit-owner,${alice.email},,audited,audited,`);

  // A bad value in the URL is said plainly, not a crash.
  const bad = await page.goto(`/w/${alice.tenant}/audit?site=..%2Fetc&action=DROP`);
  expect(bad?.status()).toBe(200);
  await expect(page.getByTestId("form-error")).toContainText("Choose");

  // Another workspace's owner: 404 on the page, the JSON and the CSV, whatever the filter.
  const mallory = await account(browser, "audit-other");
  for (const path of [`/w/${alice.tenant}/audit`, `/w/${alice.tenant}/audit?site=audited`]) {
    const response = await mallory.page.goto(path);
    expect(response?.status(), path).toBe(404);
  }
  for (const query of ["", "?site=audited", "?format=csv", "?format=csv&action=deploy.upload"]) {
    const answer = await get(mallory.request, `/api/tenants/${alice.tenant}/audit${query}`);
    expect(answer.status, query).toBe(404);
    expect(answer.body).not.toContain("audited");
  }
  // Mallory's own log has nothing of Alice's.
  const own = await get(mallory.request, `/api/tenants/${mallory.tenant}/audit?site=audited`);
  expect(own.status).toBe(200);
  expect(JSON.parse(own.body)).toEqual({ events: [], nextCursor: null });

  // A member of Alice's workspace: told only owners see it, 403 from the JSON and the CSV.
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO "Membership" (id, "userId", "tenantId", role) SELECT $1, u.id, t.id, 'member' FROM "User" u, "Tenant" t WHERE u.email = $2 AND t.slug = $3`,
      [`m-${randomUUID()}`, mallory.email, alice.tenant],
    );
  } finally {
    await client.end();
  }
  await mallory.page.goto(`/w/${alice.tenant}/audit`);
  await expect(mallory.page.getByTestId("audit-owners-only")).toContainText("Only owners");
  await expect(mallory.page.getByTestId("audit-row")).toHaveCount(0);
  for (const query of ["", "?format=csv"]) {
    const answer = await get(mallory.request, `/api/tenants/${alice.tenant}/audit${query}`);
    expect(answer.status, query).toBe(403);
    expect(answer.body).not.toContain("audited");
  }

  // The JSON API pages what the page shows.
  const first = JSON.parse((await get(alice.request, `/api/tenants/${alice.tenant}/audit?limit=2`)).body) as {
    events: { action: string }[];
    nextCursor: string;
  };
  expect(first.events.map((e) => e.action)).toEqual(["deploy.promote", "deploy.upload"]);
  const second = JSON.parse((await get(alice.request, `/api/tenants/${alice.tenant}/audit?limit=2&cursor=${first.nextCursor}`)).body) as {
    events: { action: string }[];
  };
  expect(second.events.map((e) => e.action)).toEqual(["deploy.upload", "site.create"]);

  await mallory.context.close();
  await alice.context.close();
});
