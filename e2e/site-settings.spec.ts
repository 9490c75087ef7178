import { randomUUID } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { createSite, signUp, uniqueEmail } from "./support";

/**
 * The site settings page on the real node: the SPA fallback makes a deep
 * link serve index.html through the ingress, a custom 404 page answers an
 * unknown path with status 404, the site keeps serving while each change
 * rolls out, and the history says who changed what.
 */
test.describe.configure({ mode: "serial", timeout: 300_000 });

const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");
const home = `home-${randomUUID().slice(0, 8)}`;
const lost = `lost-${randomUUID().slice(0, 8)}`;
const NAME = "Settings Tester";
const SITE = "routed";
const DEEP_LINK = "/some/client/route";

let tenant = "";
let host = "";
let p: Page;

const get = (pathname: string) => getWithHost(new URL(pathname, ingress).toString(), host);

/**
 * Polls `done` until it holds, asking for the home page between polls: every
 * answer for it must be the site's own page (a 200), whatever the rollout is
 * doing. Returns how many times the home page was asked for.
 */
async function untilServedWithoutGap(done: () => Promise<boolean>): Promise<number> {
  const misses: string[] = [];
  let asked = 0;
  await expect
    .poll(
      async () => {
        const answer = await get("/").catch((error: unknown) => ({ status: 0, body: String(error) }));
        asked += 1;
        if (answer.status !== 200 || !answer.body.includes(home)) misses.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        return done();
      },
      { timeout: 180_000, intervals: [250] },
    )
    .toBe(true);
  expect(misses, "the home page during the rollout").toEqual([]);
  return asked;
}

test.beforeAll(async ({ browser }) => {
  p = await (await browser.newContext()).newPage();
});

test.afterAll(async () => {
  await p.context().close();
});

test("a deployed site serves the platform's 404 for a deep link, and its settings page offers its .html files and shows its rules", async () => {
  tenant = await signUp(p, NAME, uniqueEmail("settings"));
  await createSite(p, SITE);
  host = `${SITE}-${tenant}.pagoda.localhost`;
  const zip = await buildZip([
    { name: "index.html", data: `<!doctype html><title>App</title><h1 id="home">${home}</h1>` },
    { name: "404.html", data: `<!doctype html><title>Lost</title><h1 id="lost">${lost}</h1>` },
    { name: "docs/guide.html", data: "<h1>guide</h1>" },
    { name: "_redirects", data: "# old links\n/old-home / 301\n" },
  ]);
  await p.locator("#site-zip").setInputFiles({ name: "app.zip", mimeType: "application/zip", buffer: zip });
  await expect(p.getByText("app.zip was accepted as a new deploy.")).toBeVisible({ timeout: 30_000 });
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  // Live is the rollout; the ingress may take a moment longer to route the new host.
  await expect.poll(async () => (await get("/").catch(() => ({ body: "" }))).body, { timeout: 60_000 }).toContain(home);
  expect((await get(DEEP_LINK)).status).toBe(404);

  // The session alone is not enough to change a setting: without the CSRF header the answer is 403 and nothing changes.
  const forged = await p.request.patch(`/api/tenants/${tenant}/sites/${SITE}/settings`, { data: { spa: true } });
  expect(forged.status()).toBe(403);
  expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("csrf");

  await p.getByRole("link", { name: "Site settings", exact: true }).click();
  await expect(p.getByRole("heading", { name: "Site settings", level: 1 })).toBeVisible();
  await expect(p.getByLabel("SPA fallback")).not.toBeChecked();
  const options = await p.getByLabel("Custom 404 page").locator("option").allTextContents();
  expect(options).toEqual(["None: the platform's 404 page", "/404.html", "/docs/guide.html", "/index.html"]);
  const rule = p.getByTestId("redirect-rule");
  await expect(rule).toHaveCount(1);
  await expect(rule).toHaveAttribute("data-line", "2");
  await expect(rule).toContainText("/old-home");
});

test("turning the SPA fallback on makes a deep link serve index.html, with no gap in serving", async () => {
  await p.getByLabel("SPA fallback").check();
  await p.getByRole("button", { name: "Save settings" }).click();
  await expect(p.getByTestId("settings-saved")).toBeVisible();
  await untilServedWithoutGap(async () => {
    const answer = await get(DEEP_LINK);
    return answer.status === 200 && answer.body.includes(home);
  });
});

test("the form explains that the fallback and a 404 page cannot be combined; with the fallback off, the page answers unknown paths with 404", async () => {
  await p.getByLabel("Custom 404 page").selectOption("/404.html");
  await expect(p.getByText("The SPA fallback and a custom 404 page cannot be combined")).toBeVisible();
  await expect(p.getByRole("button", { name: "Save settings" })).toBeDisabled();
  await p.getByLabel("SPA fallback").uncheck();
  await expect(p.getByText("The SPA fallback and a custom 404 page cannot be combined")).toBeHidden();
  await p.getByRole("button", { name: "Save settings" }).click();
  await expect(p.getByTestId("settings-saved")).toBeVisible();
  // Both answers from the new config in one poll: while the rollout runs, an old pod (fallback
  // on) may still take any one request.
  await untilServedWithoutGap(async () => {
    const answer = await get("/no/such/page");
    // The fallback is off again: the deep link gets the 404 page too.
    const deep = await get(DEEP_LINK);
    return answer.status === 404 && answer.body.includes(lost) && deep.status === 404 && deep.body.includes(lost);
  });
});

test("the history shows both changes, with who made them", async () => {
  await p.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: SITE }).click();
  const changes = p.getByTestId("settings-change");
  await expect(changes).toHaveCount(2);
  await expect(changes.nth(0)).toContainText("Settings changed: SPA fallback off, custom 404 page /404.html");
  await expect(changes.nth(1)).toContainText("Settings changed: SPA fallback on");
  await expect(changes.nth(0).getByTestId("settings-change-by")).toHaveText(NAME);
  await expect(changes.nth(1).getByTestId("settings-change-by")).toHaveText(NAME);
  // Both came after the deploy, so both sit above it.
  const entries = await p
    .getByRole("list", { name: "Deploy history" })
    .locator(":scope > li")
    .evaluateAll((items) => items.map((li) => li.getAttribute("data-testid")));
  expect(entries).toEqual(["settings-change", "settings-change", "deploy"]);
});
