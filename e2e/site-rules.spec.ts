import { expect, test, type Page } from "@playwright/test";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { createSite, signUp, uniqueEmail } from "./support";

/**
 * A site's `_redirects` and `_headers` from upload to the ingress on the real
 * node: served as written, a bad line refused with its file and line while
 * the live site stays, and a rollback to a deploy without rules takes them
 * away.
 */
test.describe.configure({ mode: "serial", timeout: 240_000 });

const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");

const REDIRECTS = `# moved pages
/old-page /new-page 301
/blog/* /news/:splat 302
/go https://example.com/landing 307
/app/* /index.html 200
`;
const HEADERS = `/*
  X-Rules: on
/fonts/*
  Access-Control-Allow-Origin: *
  Cache-Control: public, max-age=86400
`;

function fetchSite(host: string, pathname: string) {
  return getWithHost(new URL(pathname, ingress).toString(), host);
}

/** True once ten requests in a row get `marker`. */
async function servesOnly(siteHost: string, marker: string): Promise<boolean> {
  for (let i = 0; i < 10; i += 1) {
    if (!(await fetchSite(siteHost, "/")).body.includes(marker)) return false;
  }
  return true;
}

let p: Page;
let tenant = "";
let host = "";

test.beforeAll(async ({ browser }) => {
  p = await (await browser.newContext()).newPage();
});

test.afterAll(async () => {
  await p.context().close();
});

async function upload(zip: Buffer, name: string): Promise<void> {
  await p.locator("#site-zip").setInputFiles({ name, mimeType: "application/zip", buffer: zip });
  await expect(p.getByText(`${name} was accepted as a new deploy.`)).toBeVisible({ timeout: 30_000 });
}

test("a site's _redirects and _headers are served through the ingress as written", async () => {
  tenant = await signUp(p, "Rules Tester", uniqueEmail("rules"));
  await createSite(p, "rules");
  host = `rules-${tenant}.pagoda.localhost`;

  // First a deploy without rules, to roll back to later.
  await upload(await buildZip([{ name: "index.html", data: "<h1>plain version</h1>" }]), "plain.zip");
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  // Live is the rollout; the ingress may take a moment longer to route the new host.
  await expect.poll(async () => (await fetchSite(host, "/")).body, { timeout: 60_000 }).toContain("plain version");

  await upload(
    await buildZip([
      { name: "dist/index.html", data: "<h1>ruled version</h1>" },
      { name: "dist/new-page.html", data: "<h1>new page</h1>" },
      { name: "dist/fonts/a.woff2", data: "font bytes" },
      { name: "dist/_redirects", data: REDIRECTS },
      { name: "dist/_headers", data: HEADERS },
    ]),
    "ruled.zip",
  );
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  // A replaced pod keeps serving through its preStop window: wait until only the new version answers.
  await expect.poll(() => servesOnly(host, "ruled version"), { timeout: 180_000 }).toBe(true);

  const moved = await fetchSite(host, "/old-page?ref=mail");
  expect(moved.status).toBe(301);
  expect(moved.headers.location).toBe("/new-page?ref=mail");
  expect(moved.headers["x-rules"]).toBe("on");

  const splat = await fetchSite(host, "/blog/2026/hello");
  expect(splat.status).toBe(302);
  expect(splat.headers.location).toBe("/news/2026/hello");

  const away = await fetchSite(host, "/go");
  expect(away.status).toBe(307);
  expect(away.headers.location).toBe("https://example.com/landing");

  const rewritten = await fetchSite(host, "/app/settings");
  expect(rewritten.status).toBe(200);
  expect(rewritten.body).toContain("ruled version");
  expect(rewritten.headers.location).toBeUndefined();

  const font = await fetchSite(host, "/fonts/a.woff2");
  expect(font.status).toBe(200);
  expect(font.headers["access-control-allow-origin"]).toBe("*");
  expect(font.headers["cache-control"]).toBe("public, max-age=86400");
  expect(font.headers["x-rules"]).toBe("on");
  // The platform's security headers stay beside the site's.
  expect(font.headers["x-content-type-options"]).toBe("nosniff");

  // Both files are in the deploy but never served.
  expect((await fetchSite(host, "/_redirects")).status).toBe(404);
  expect((await fetchSite(host, "/_headers")).status).toBe(404);
});

test("a bad line is refused with its file and line, and the live site keeps its rules", async () => {
  await p.goto(`/w/${tenant}/sites/rules`);
  const bad = await buildZip([
    { name: "index.html", data: "<h1>bad rules version</h1>" },
    { name: "_redirects", data: "/a /b 301\n/old /new 999\n" },
  ]);
  await p.locator("#site-zip").setInputFiles({ name: "bad.zip", mimeType: "application/zip", buffer: bad });
  await expect(p.getByTestId("form-error")).toContainText("_redirects line 2: status 999 is not a redirect status");
  await p.reload();
  await expect(p.getByRole("list", { name: "Deploy history" }).getByTestId("deploy")).toHaveCount(2);
  expect((await fetchSite(host, "/")).body).toContain("ruled version");
  expect((await fetchSite(host, "/old-page")).status).toBe(301);
});

test("rolling back to the deploy without rules takes the rules away", async () => {
  await p.goto(`/w/${tenant}/sites/rules`);
  const history = p.getByRole("list", { name: "Deploy history" });
  await history.getByTestId("deploy").nth(1).getByRole("button", { name: "Roll back to this" }).click();
  await expect(history.getByTestId("deploy").nth(1)).toContainText("current target");
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  await expect.poll(() => servesOnly(host, "plain version"), { timeout: 60_000 }).toBe(true);
  // Every pod of the old config gone: a few answers in a row without the rules.
  await expect
    .poll(
      async () => {
        for (let i = 0; i < 5; i += 1) {
          const res = await fetchSite(host, "/old-page");
          if (res.status !== 404 || res.headers["x-rules"] !== undefined) return `${res.status} ${res.headers["x-rules"] ?? ""}`;
        }
        return "gone";
      },
      { timeout: 60_000 },
    )
    .toBe("gone");
  expect((await fetchSite(host, "/blog/2026/hello")).status).toBe(404);
});
