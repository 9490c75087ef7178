import { randomUUID } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { createSite, csrfToken, signUp, uniqueEmail } from "./support";

/**
 * The shared pool on the real node, driven from the site settings page: a
 * deployed site moves from its own pods to the pool and back while a loop
 * asks for it (every answer its own page), a deploy goes live on the pool
 * with no pods of the site's own, and the history says what was switched.
 */
test.describe.configure({ mode: "serial", timeout: 300_000 });

const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");
const first = `first-${randomUUID().slice(0, 8)}`;
const second = `second-${randomUUID().slice(0, 8)}`;
const third = `third-${randomUUID().slice(0, 8)}`;
const SITE = "pooled";

let tenant = "";
let host = "";
let p: Page;

const get = (pathname: string) => getWithHost(new URL(pathname, ingress).toString(), host);

function apps(): AppsV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  return kc.makeApiClient(AppsV1Api);
}

/** Whether the site has a Deployment of its own in its tenant's namespace. */
async function hasOwnPods(): Promise<boolean> {
  const list = await apps().listNamespacedDeployment({ namespace: `pagoda-${tenant}`, labelSelector: `app.kubernetes.io/name=${SITE}` });
  return list.items.length > 0;
}

/** Polls `done` until it holds, asking for the home page between polls: every answer must be `body`'s page. */
async function untilServedWithoutGap(body: string, done: () => Promise<boolean>): Promise<number> {
  const misses: string[] = [];
  let asked = 0;
  await expect
    .poll(
      async () => {
        const answer = await get("/").catch((error: unknown) => ({ status: 0, body: String(error) }));
        asked += 1;
        if (answer.status !== 200 || !answer.body.includes(body)) misses.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        return done();
      },
      { timeout: 180_000, intervals: [200] },
    )
    .toBe(true);
  expect(misses, "the home page during the switch").toEqual([]);
  return asked;
}

async function uploadZip(marker: string): Promise<void> {
  const zip = await buildZip([{ name: "index.html", data: `<!doctype html><title>Pooled</title><h1>${marker}</h1>` }]);
  await p.locator("#site-zip").setInputFiles({ name: `${marker}.zip`, mimeType: "application/zip", buffer: zip });
  await expect(p.getByText(`${marker}.zip was accepted as a new deploy.`)).toBeVisible({ timeout: 30_000 });
}

async function chooseServing(label: "Shared pool" | "Its own pods"): Promise<void> {
  await p.goto(`/w/${tenant}/sites/${SITE}/settings`);
  await expect(p.getByRole("button", { name: "Save settings" })).toBeDisabled();
  await p.getByLabel(label).check();
  await p.getByRole("button", { name: "Save settings" }).click();
  await expect(p.getByTestId("settings-saved")).toBeVisible();
}

test.beforeAll(async ({ browser }) => {
  p = await (await browser.newContext()).newPage();
});

test.afterAll(async () => {
  await p.context().close();
});

test("a deployed site moves to the shared pool without a gap, and its own pods go", async () => {
  tenant = await signUp(p, "Pool Tester", uniqueEmail("pool"));
  await createSite(p, SITE);
  host = `${SITE}-${tenant}.pagoda.localhost`;
  await uploadZip(first);
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  await expect.poll(async () => (await get("/").catch(() => ({ body: "" }))).body, { timeout: 60_000 }).toContain(first);
  expect(await hasOwnPods()).toBe(true);

  await chooseServing("Shared pool");
  const asked = await untilServedWithoutGap(first, async () => !(await hasOwnPods()));
  expect(asked).toBeGreaterThan(1);
  await p.goto(`/w/${tenant}/sites/${SITE}`);
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 60_000 });
});

test("a deploy of a shared site goes live on the pool, with no pods of its own", async () => {
  await uploadZip(second);
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 120_000 });
  // Live on the pool means every ready replica serves the new digest: the next request gets it.
  expect((await get("/")).body).toContain(second);
  expect(await hasOwnPods()).toBe(false);
});

test("a deploy sent without promotion answers at its preview address, noindex, while the site keeps serving the promoted one; another site's label gets nothing", async () => {
  const zip = await buildZip([{ name: "index.html", data: `<!doctype html><title>Pooled</title><h1>${third}</h1>` }]);
  const sent = await p.request.post(`/api/tenants/${tenant}/sites/${SITE}/deploys?promote=false`, {
    headers: { "x-csrf-token": await csrfToken(p.request), "content-type": "application/zip" },
    data: zip,
  });
  expect(sent.status()).toBe(201);
  const { deploy } = (await sent.json()) as { deploy: { id: string; isTarget: boolean; previewUrl: string | null } };
  expect(deploy.isTarget).toBe(false);
  const previewHost = new URL(deploy.previewUrl!).host.replace(/:\d+$/, "");
  // The first request makes the preview (a 307 to itself); then it is served like any site.
  await expect
    .poll(async () => (await getWithHost(new URL("/", ingress).toString(), previewHost).catch(() => ({ body: "" }))).body, { timeout: 60_000 })
    .toContain(third);
  const preview = await getWithHost(new URL("/", ingress).toString(), previewHost);
  expect(preview.headers["x-robots-tag"]).toBe("noindex");
  const live = await get("/");
  expect(live.body).toContain(second);
  expect(live.headers["x-robots-tag"]).toBeUndefined();
  // The same deploy under a label that is not its site's: the pool answers as for any unknown host.
  const foreign = await getWithHost(new URL("/", ingress).toString(), previewHost.replace(`--${SITE}-`, "--other-"));
  expect(foreign.status).toBe(404);
  expect(foreign.body).not.toContain(third);
  // The history links it.
  await p.goto(`/w/${tenant}/sites/${SITE}`);
  await expect(p.getByTestId("deploy-preview").first()).toHaveAttribute("href", deploy.previewUrl!);
});

test("back to its own pods without a gap, and the history says both switches", async () => {
  await chooseServing("Its own pods");
  await untilServedWithoutGap(second, async () => {
    if (!(await hasOwnPods())) return false;
    const deployment = (await apps().listNamespacedDeployment({ namespace: `pagoda-${tenant}`, labelSelector: `app.kubernetes.io/name=${SITE}` })).items[0];
    return (deployment?.status?.availableReplicas ?? 0) >= 1;
  });
  await p.goto(`/w/${tenant}/sites/${SITE}`);
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 60_000 });
  const changes = p.getByTestId("settings-change");
  await expect(changes).toHaveCount(2);
  await expect(changes.nth(0)).toContainText("Settings changed: served by its own pods");
  await expect(changes.nth(1)).toContainText("Settings changed: served by the shared pool");
});
