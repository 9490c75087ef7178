import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { expect, test, type Page } from "@playwright/test";
import { connectDnsServer } from "@/local-cluster/dns-server";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { createSite, csrfToken, signUp, uniqueEmail } from "./support";

/**
 * A custom domain on the real stack: an owner adds www.customer.test on the
 * site's Domains page, reads the TXT record to create off the page, the test
 * creates it (and the CNAME) in the run's real DNS server, and the page shows
 * the domain verified; the operator gets it a certificate from the run's
 * Pebble, the page shows it issued then serving, the site answers over HTTPS
 * at that name and plain HTTP redirects there; it stops when the domain is
 * removed. Another tenant can neither see it nor
 * take the name.
 */
test.describe.configure({ mode: "serial", timeout: 600_000 });

const DOMAIN = "www.customer.test";
const SITE = "shop";
const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");
const marker = `shop-${randomUUID().slice(0, 8)}`;
const atDomain = () =>
  getWithHost(new URL("/", ingress).toString(), DOMAIN).catch((error: unknown) => ({ status: 0, body: String(error), headers: {} as IncomingHttpHeaders }));
const httpsPort = Number(new URL(process.env.E2E_HTTPS_URL ?? "https://127.0.0.1:18443").port);

/**
 * GET https://www.customer.test:<port>/ on 127.0.0.1, trusting only Pebble's root: what `curl --resolve` does. The Host
 * header carries the port, as a browser's would: the redirect middleware sends a request whose port is not its HTTPS port on.
 */
function httpsAtDomain(): Promise<{ status: number; body: string }> {
  const root = process.env.E2E_PEBBLE_ROOT;
  if (!root) throw new Error("the e2e stack starts the TLS tier and passes E2E_PEBBLE_ROOT");
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = https.get(
      {
        host: "127.0.0.1",
        port: httpsPort,
        path: "/",
        servername: DOMAIN,
        headers: { host: `${DOMAIN}:${httpsPort}` },
        ca: readFileSync(root),
        timeout: 5_000,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("timeout", () => request.destroy(new Error("no answer within 5 s")));
    request.on("error", reject);
  }).catch((error: unknown) => ({ status: 0, body: String(error) }));
}

function dns() {
  const address = process.env.E2E_DNS_ADDRESS;
  const dir = process.env.E2E_DNS_DIR;
  if (!address || !dir) throw new Error("the e2e stack starts a DNS server and passes E2E_DNS_ADDRESS and E2E_DNS_DIR");
  return connectDnsServer({ address, dir, zones: (process.env.E2E_DNS_ZONES ?? "customer.test").split(",") });
}

let tenant = "";
let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await (await browser.newContext()).newPage();
});

test.afterAll(async () => {
  await p.context().close();
});

test("an owner adds www.customer.test, creates the TXT record the page shows, and the domain goes verified", async () => {
  tenant = await signUp(p, "Domain Owner", uniqueEmail("domains"));
  await createSite(p, SITE);
  const zip = await buildZip([{ name: "index.html", data: `<!doctype html><title>Shop</title><h1>${marker}</h1>` }]);
  await p.locator("#site-zip").setInputFiles({ name: "shop.zip", mimeType: "application/zip", buffer: zip });
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  // Not verified, not served: the ingress knows nothing of the name.
  expect((await atDomain()).body).not.toContain(marker);

  await p.getByRole("link", { name: "Domains", exact: true }).click();
  await expect(p.getByRole("heading", { name: "Custom domains", level: 1 })).toBeVisible();
  await expect(p.getByRole("form", { name: "Add a domain" })).toHaveAttribute("data-hydrated", "true");

  // A look-alike is refused, with its punycode shown to the person.
  await p.getByLabel("Domain", { exact: true }).fill("\u0430pple.customer.test");
  await p.getByRole("button", { name: "Add domain" }).click();
  await expect(p.getByRole("alert").filter({ hasText: "xn--pple-43d.customer.test" })).toBeVisible();

  await p.getByLabel("Domain", { exact: true }).fill("WWW.Customer.Test.");
  await p.getByRole("button", { name: "Add domain" }).click();
  const item = p.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`);
  await expect(item.getByTestId("domain-phase")).toHaveText("Pending verification");
  const txt = item.getByTestId("record-txt");
  await expect(txt).toContainText(`_pagoda-challenge.${DOMAIN}`);
  const token = (await item.getByTestId("record-txt-value").textContent())?.trim() ?? "";
  expect(token).toMatch(/^pagoda-[0-9a-f]{32}$/);
  await expect(item.getByTestId("record-cname")).toContainText("ingress.pagoda-e2e.test");
  // The first check finds nothing, and says so.
  await expect(item.getByTestId("domain-reason")).toContainText(`No TXT record at _pagoda-challenge.${DOMAIN}`, { timeout: 30_000 });

  const server = dns();
  await server.setRecords(`_pagoda-challenge.${DOMAIN}`, "TXT", [token]);
  // An A record to the ingress's address rather than the CNAME: Pebble must resolve the name to validate it, and the CNAME's target is in no zone this run serves.
  await server.setRecords(DOMAIN, "A", ["127.0.0.1"]);
  await expect(item.getByTestId("domain-phase")).toHaveText(/Verified|Certificate issued|Serving/, { timeout: 60_000 });
  await expect(item.getByTestId("record-txt")).toHaveCount(0);

  // The operator asks the run's ClusterIssuer for a certificate. "Certificate issued" lasts one reconcile (until the domain's
  // Ingress carries the Secret), so the page may poll past it; "Serving" comes only once the name is served over HTTPS.
  await expect(item.getByTestId("domain-phase")).toHaveText(/Certificate issued|Serving/, { timeout: 240_000 });
  await expect(item.getByTestId("domain-phase")).toHaveText("Serving", { timeout: 120_000 });

  // Traefik picks the Secret up from its watch; until then it answers with its default certificate, which Pebble's root does not sign.
  await expect.poll(async () => (await httpsAtDomain()).body, { timeout: 60_000 }).toContain(marker);
  // Plain HTTP redirects to the HTTPS address.
  await expect.poll(async () => (await atDomain()).status, { timeout: 60_000 }).toBeGreaterThanOrEqual(300);
  const redirect = await atDomain();
  expect(redirect.status).toBeLessThan(400);
  expect(redirect.headers.location).toBe(`https://${DOMAIN}:${httpsPort}/`);

  // A reload reads the same state from the server.
  await p.reload();
  await expect(p.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`).getByTestId("domain-phase")).toHaveText(/Verified|Certificate issued|Serving/);
});

test("another tenant neither sees the domain nor can take its name", async ({ browser }) => {
  const context = await browser.newContext();
  const other = await context.newPage();
  const otherTenant = await signUp(other, "Domain Rival", uniqueEmail("rival"));
  await createSite(other, SITE);

  const page = await other.goto(`/w/${tenant}/sites/${SITE}/domains`);
  expect(page?.status()).toBe(404);
  const list = await other.request.get(`/api/tenants/${tenant}/sites/${SITE}/domains`);
  expect(list.status()).toBe(404);
  const csrf = await csrfToken(other.request);
  const removal = await other.request.delete(`/api/tenants/${tenant}/sites/${SITE}/domains/${DOMAIN}`, { headers: { "x-csrf-token": csrf } });
  expect(removal.status()).toBe(404);
  const theirs = await other.request.delete(`/api/tenants/${otherTenant}/sites/${SITE}/domains/${DOMAIN}`, { headers: { "x-csrf-token": csrf } });
  expect(theirs.status()).toBe(404);

  await other.goto(`/w/${otherTenant}/sites/${SITE}/domains`);
  // Typed before the page's script runs, the name would be emptied by hydration.
  await expect(other.getByRole("form", { name: "Add a domain" })).toHaveAttribute("data-hydrated", "true");
  await other.getByLabel("Domain", { exact: true }).fill(DOMAIN);
  await other.getByRole("button", { name: "Add domain" }).click();
  await expect(other.getByRole("alert").filter({ hasText: "already in use by another site" })).toBeVisible();
  await context.close();

  // The owner's domain is untouched.
  await p.reload();
  await expect(p.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`)).toHaveCount(1);
});

test("removing the domain takes it off the ingress", async () => {
  const item = p.locator(`[data-testid="domain"][data-domain="${DOMAIN}"]`);
  await item.getByRole("button", { name: "Remove" }).click();
  await expect(item).toHaveCount(0);
  await expect.poll(async () => (await atDomain()).body, { timeout: 90_000 }).not.toContain(marker);
  await expect.poll(async () => (await httpsAtDomain()).body, { timeout: 90_000 }).not.toContain(marker);
  await p.reload();
  await expect(p.getByText("No custom domains yet.")).toBeVisible();
});
