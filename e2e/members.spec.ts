/**
 * Members and roles in a real browser against the whole product: an owner
 * invites people by email (the run's Mailpit receives it), they follow the
 * link, sign up from it and join with the role they were given. A member
 * deploys but sees no tokens or members; a viewer sees no deploy button;
 * the API refuses both what their role does not allow.
 */
import { expect, test, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { buildZip } from "@/lib/uploads/test-support";
import { waitForMessage } from "@/tests/support/mailpit";
import { createSite, csrfToken, PASSWORD, signUp, uniqueEmail } from "./support";

const mailpit = () => process.env.E2E_MAILPIT_URL!;

async function api(request: APIRequestContext, method: "GET" | "POST" | "PATCH" | "DELETE", url: string, body?: unknown) {
  const headers = { "x-csrf-token": await csrfToken(request), "content-type": "application/json" };
  const response = await request.fetch(url, { method, headers, ...(body === undefined ? {} : { data: body }) });
  return { status: response.status(), body: await response.text() };
}

/** The owner invites `email` from the members page; returns the link that arrived. */
async function invite(owner: Page, tenant: string, email: string, role: "member" | "viewer"): Promise<string> {
  await owner.goto(`/w/${tenant}`);
  await owner.getByTestId("nav-members").click();
  await expect(owner.getByRole("heading", { name: "Members", level: 1 })).toBeVisible();
  await expect(owner.getByTestId("invite-submit")).toBeEnabled();
  await owner.getByLabel("Invite by email").fill(email);
  await owner.getByLabel("Role", { exact: true }).selectOption(role);
  await owner.getByTestId("invite-submit").click();
  await expect(owner.getByText(`Invitation sent to ${email}.`)).toBeVisible();
  await expect(owner.getByTestId("invitation-row").filter({ hasText: email })).toContainText(`as ${role}`);
  const message = await waitForMessage(mailpit(), email);
  const link = [...message.Text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]).find((url) => new URL(url).pathname.startsWith("/invite/"));
  expect(link, message.Text).toBeDefined();
  return link!;
}

/** A fresh browser follows the link, signs up from the invitation page and joins; returns its page in the joined workspace. */
async function joinBySignUp(browser: Browser, baseURL: string | undefined, link: string, name: string, email: string, tenant: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByTestId("invitation-summary")).toContainText(email);
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.getByRole("button", { name: "Create account" })).toBeEnabled();
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("invitation-accept").click();
  await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
  await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
  return { context, page };
}

test("an invited member signs up from the email, joins, deploys, and sees no tokens or members", async ({ browser, page, baseURL }) => {
  const tenant = await signUp(page, "Olive Owner", uniqueEmail("team-owner"));
  await createSite(page, "team-site");
  const email = uniqueEmail("team-member");
  const link = await invite(page, tenant, email, "member");

  const bob = await joinBySignUp(browser, baseURL, link, "Bob Member", email, tenant);
  try {
    // Two workspaces now: his own and the one he joined, in the switcher.
    await expect(bob.page.getByTestId("workspace-option")).toHaveCount(2);
    await expect(bob.page.getByTestId("nav-members")).toHaveCount(0);
    await expect(bob.page.getByTestId("nav-settings")).toHaveCount(0);

    await bob.page.goto(`/w/${tenant}/sites/team-site`);
    await expect(bob.page.getByRole("heading", { name: "team-site", level: 1 })).toBeVisible();
    const zip = await buildZip([{ name: "index.html", data: "<h1>by bob</h1>" }]);
    await bob.page.locator("#site-zip").setInputFiles({ name: "bob.zip", mimeType: "application/zip", buffer: zip });
    await expect(bob.page.getByText("bob.zip was accepted as a new deploy.")).toBeVisible({ timeout: 30_000 });

    for (const [method, url, body] of [
      ["GET", `/api/tenants/${tenant}/tokens`],
      ["POST", `/api/tenants/${tenant}/tokens`, { name: "sneaky", scopes: ["deploy"] }],
      ["GET", `/api/tenants/${tenant}/members`],
      ["POST", `/api/tenants/${tenant}/invitations`, { email: uniqueEmail("sneaky"), role: "owner" }],
      ["DELETE", `/api/tenants/${tenant}/sites/team-site`],
    ] as const) {
      const answer = await api(bob.context.request, method, url, body);
      expect(answer.status, `${method} ${url}`).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe("role_required");
    }
    // The members page tells him what he is and offers only leaving.
    await bob.page.goto(`/w/${tenant}/members`);
    await expect(bob.page.getByTestId("members-owners-only")).toContainText("You are a member");
    await expect(bob.page.getByTestId("member-row")).toHaveCount(0);

    // The owner sees him as a member; the invitation is no longer pending.
    await page.goto(`/w/${tenant}/members`);
    await expect(page.getByTestId("member-row").filter({ hasText: email })).toBeVisible();
    await expect(page.getByTestId("invitation-row")).toHaveCount(0);
    // The link worked once.
    await bob.page.goto(link);
    await expect(bob.page.getByText("This invitation has already been used")).toBeVisible();

    // The owner makes him a viewer; the audit page names who did each step.
    const bobRow = page.getByTestId("member-row").filter({ hasText: email });
    await bobRow.getByRole("combobox").selectOption("viewer");
    await expect(page.getByText(`${email} is now a viewer.`)).toBeVisible();
    await page.getByTestId("nav-audit").click();
    await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
    const rows = page.getByTestId("audit-row");
    const sent = rows.and(page.locator('[data-action="invitation.created"]'));
    await expect(sent).toHaveCount(1);
    await expect(sent).toContainText("Olive Owner");
    await expect(sent).toContainText("invited someone");
    await expect(sent).toContainText(email);
    const accepted = rows.and(page.locator('[data-action="invitation.accepted"]'));
    await expect(accepted).toHaveCount(1);
    await expect(accepted).toContainText("Bob Member");
    await expect(accepted).toContainText("accepted an invitation");
    const changed = rows.and(page.locator('[data-action="member.role_changed"]'));
    await expect(changed).toHaveCount(1);
    await expect(changed).toContainText("Olive Owner");
    await expect(changed).toContainText("changed a member's role");
    await expect(changed).toContainText(email);
    await expect(changed).toContainText("to: viewer");
    // Newest first: the role change, after the acceptance, after the invitation.
    const order = await rows.evaluateAll((all) => all.map((row) => row.getAttribute("data-action")));
    const at = (action: string) => order.indexOf(action);
    expect(at("member.role_changed")).toBeLessThan(at("invitation.accepted"));
    expect(at("invitation.accepted")).toBeLessThan(at("invitation.created"));
  } finally {
    await bob.context.close();
  }
});

test("an invited viewer sees no deploy button and the API answers 403", async ({ browser, page, baseURL }) => {
  const tenant = await signUp(page, "Otto Owner", uniqueEmail("view-owner"));
  await createSite(page, "shown-site");
  await expect(page.getByRole("heading", { name: "New deploy" })).toBeVisible();
  const email = uniqueEmail("team-viewer");
  const link = await invite(page, tenant, email, "viewer");

  const vera = await joinBySignUp(browser, baseURL, link, "Vera Viewer", email, tenant);
  try {
    await expect(vera.page.getByRole("heading", { name: "New site" })).toHaveCount(0);
    await vera.page.goto(`/w/${tenant}/sites/shown-site`);
    await expect(vera.page.getByRole("heading", { name: "shown-site", level: 1 })).toBeVisible();
    await expect(vera.page.getByTestId("viewer-read-only")).toBeVisible();
    await expect(vera.page.getByRole("heading", { name: "New deploy" })).toHaveCount(0);
    await expect(vera.page.locator("#site-zip")).toHaveCount(0);

    const zip = await buildZip([{ name: "index.html", data: "<h1>by vera</h1>" }]);
    const upload = await vera.context.request.post(`/api/tenants/${tenant}/sites/shown-site/deploys`, {
      headers: { "x-csrf-token": await csrfToken(vera.context.request), "content-type": "application/zip" },
      data: zip,
    });
    expect(upload.status()).toBe(403);
    expect(((await upload.json()) as { error: { code: string } }).error.code).toBe("role_required");
    expect((await api(vera.context.request, "POST", `/api/tenants/${tenant}/sites`, { name: "planted" })).status).toBe(403);
    expect((await api(vera.context.request, "PATCH", `/api/tenants/${tenant}/sites/shown-site/settings`, { spa: true })).status).toBe(403);
    // Reading is what a viewer may do.
    expect((await api(vera.context.request, "GET", `/api/tenants/${tenant}/sites/shown-site/deploys`)).status).toBe(200);
    const deploys = JSON.parse((await api(page.request, "GET", `/api/tenants/${tenant}/sites/shown-site/deploys`)).body) as { deploys: unknown[] };
    expect(deploys.deploys).toHaveLength(0);
  } finally {
    await vera.context.close();
  }
});
