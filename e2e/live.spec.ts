import { expect, test, type Page } from "@playwright/test";
import { CustomObjectsApi, AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { createSite, signUp, uniqueEmail } from "./support";

/**
 * The whole product on a real cluster node: uploads go live behind the
 * ingress, updates roll out without a failed request, rollback and delete
 * work, and bad uploads leave the live site alone. Needs the stack that
 * e2e/stack.ts starts for the suite (real node, operator, ingress).
 */
test.describe.configure({ mode: "serial", timeout: 240_000 });

const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");

/** GET through the ingress with the site's Host header, as a browser anywhere would. */
function fetchSite(host: string, pathname = "/"): Promise<{ status: number; body: string }> {
  return getWithHost(new URL(pathname, ingress).toString(), host);
}

function page(version: string): Promise<Buffer> {
  return buildZip([
    { name: "site/index.html", data: `<!doctype html><title>Pagoda test</title><h1 id="v">${version}</h1>` },
    { name: "site/app.3f9a1c2b.js", data: `console.log(${JSON.stringify(version)});` },
  ]);
}

/**
 * True once every one of ten requests in a row gets `marker`: a replaced pod
 * keeps serving through its preStop window, so one hit is not yet "only".
 */
async function servesOnly(marker: string): Promise<boolean> {
  for (let i = 0; i < 10; i += 1) {
    if (!(await fetchSite(host)).body.includes(marker)) return false;
  }
  return true;
}

async function upload(p: Page, zip: Buffer, name: string): Promise<void> {
  await p.locator("#site-zip").setInputFiles({ name, mimeType: "application/zip", buffer: zip });
  await expect(p.getByText(`${name} was accepted as a new deploy.`)).toBeVisible({ timeout: 30_000 });
}

async function expectLive(p: Page): Promise<void> {
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
}

let tenant = "";
let host = "";
// One signed-in person through every step, as in real use.
let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await (await browser.newContext()).newPage();
});

test.afterAll(async () => {
  await p.context().close();
});

test("a zip goes live by itself and the URL serves it", async () => {
  tenant = await signUp(p, "Live Tester", uniqueEmail("live"));
  await createSite(p, "launch");
  host = `launch-${tenant}.pagoda.localhost`;
  // The site list, open in another tab all along, must follow without a reload.
  const list = await p.context().newPage();
  await list.goto(`/w/${tenant}`);
  const row = list.getByTestId("site-row").filter({ hasText: "launch" });
  await expect(row).toContainText("No deploys yet");
  await expect(row.getByTestId("phase-badge")).toHaveCount(0);
  await upload(p, await page("version one"), "v1.zip");
  await expectLive(p);
  await expect(row.getByTestId("phase-badge")).toHaveAttribute("data-phase", "Live");
  await expect(row).toContainText("1 deploy");
  await list.close();
  await expect(p.getByRole("list", { name: "Deploy history" }).getByTestId("deploy").first()).toHaveAttribute("data-state", "live");

  const link = p.getByTestId("site-link");
  await expect(link).toHaveAttribute("href", `http://${host}:${ingress.port}/`);
  // kubectl and the dashboard give the same address, port included.
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  const site = (await kc
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ group: "pagoda.dev", version: "v1alpha1", namespace: `pagoda-${tenant}`, plural: "staticsites", name: "launch" })) as {
    status?: { url?: string };
  };
  expect(site.status?.url).toBe(await link.getAttribute("href"));
  const sitePage = await p.context().newPage();
  await sitePage.goto(`http://${host}:${ingress.port}/`);
  await expect(sitePage.locator("#v")).toHaveText("version one");
  await sitePage.close();
});

test("a second version rolls out with no failed request, and the history says so", async () => {
  await p.goto(`/w/${tenant}/sites/launch`);
  await expectLive(p);
  let stop = false;
  const failures: string[] = [];
  let requests = 0;
  const loop = (async () => {
    while (!stop) {
      requests += 1;
      const response = await fetchSite(host).catch((error: Error) => ({ status: 0, body: error.message }));
      if (response.status !== 200) failures.push(`${response.status} ${response.body.slice(0, 80)}`);
      if (response.body.includes("version two")) stop = true;
    }
  })();
  await upload(p, await page("version two"), "v2.zip");
  await expectLive(p);
  await expect.poll(async () => (await fetchSite(host)).body, { timeout: 60_000 }).toContain("version two");
  stop = true;
  await loop;
  expect(failures, `${failures.length} of ${requests} requests failed during the rollout`).toEqual([]);
  expect(requests).toBeGreaterThan(5);

  const states = p.getByRole("list", { name: "Deploy history" }).getByTestId("deploy");
  await expect(states.nth(0)).toHaveAttribute("data-state", "live");
  await expect(states.nth(1)).toHaveAttribute("data-state", "superseded");
});

test("rolling back to v1 serves v1 again", async () => {
  await p.goto(`/w/${tenant}/sites/launch`);
  const history = p.getByRole("list", { name: "Deploy history" });
  await history.getByTestId("deploy").nth(1).getByRole("button", { name: "Roll back to this" }).click();
  await expect(history.getByTestId("deploy").nth(1)).toContainText("current target");
  await expectLive(p);
  await expect.poll(() => servesOnly("version one"), { timeout: 60_000 }).toBe(true);
});

test("a bad zip is refused and the live site stays as it was", async () => {
  await p.goto(`/w/${tenant}/sites/launch`);
  const noIndex = await buildZip([{ name: "readme.txt", data: "no index here" }]);
  await p.locator("#site-zip").setInputFiles({ name: "broken.zip", mimeType: "application/zip", buffer: noIndex });
  await expect(p.getByTestId("form-error")).toContainText("index.html");
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live");
  expect((await fetchSite(host)).body).toContain("version one");
});

test("deleting the site stops the URL and removes the StaticSite and its children", async () => {
  await p.goto(`/w/${tenant}/sites/launch`);
  await p.getByRole("button", { name: "Delete site" }).click();
  await p.getByLabel("Site name").fill("launch");
  await p.getByRole("button", { name: "Delete forever" }).click();
  await expect(p).toHaveURL(new RegExp(`/w/${tenant}$`));
  await expect.poll(async () => (await fetchSite(host)).status, { timeout: 60_000 }).toBe(404);

  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  const namespace = `pagoda-${tenant}`;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  await expect
    .poll(async () => (await custom.listNamespacedCustomObject({ group: "pagoda.dev", version: "v1alpha1", namespace, plural: "staticsites" })).items.length, {
      timeout: 60_000,
    })
    .toBe(0);
  await expect.poll(async () => (await apps.listNamespacedDeployment({ namespace })).items.length, { timeout: 60_000 }).toBe(0);
});
