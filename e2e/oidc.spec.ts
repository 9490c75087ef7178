import { expect, test, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { PASSWORD, signOut, signUp, uniqueEmail } from "./support";

// e2e/stack.ts starts a real OpenID provider (oidc-provider) and sets PAGODA_OIDC_DOMAIN_RULES to
// "sso-e2e.example=sso-e2e:member"; the workspace itself is made here.
const RULE_WORKSPACE = "sso-e2e";

async function ensureRuleWorkspace(): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(`INSERT INTO "Tenant" (id, slug, name) VALUES ($1, $2, 'SSO team') ON CONFLICT (slug) DO NOTHING`, [
      `t-${randomUUID()}`,
      RULE_WORKSPACE,
    ]);
  } finally {
    await client.end();
  }
}

async function identitiesOf(email: string): Promise<number> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(`SELECT 1 FROM "OidcIdentity" i JOIN "User" u ON u.id = i."userId" WHERE u.email = $1`, [email])).rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** Through the provider's own pages: its sign-in form, then its consent form. */
async function signInAtProvider(page: Page, login: string): Promise<void> {
  // A fresh session at the provider each time, so its sign-in and consent pages are always shown.
  await page.context().clearCookies({ domain: new URL(process.env.PAGODA_OIDC_ISSUER!).hostname });
  await page.goto("/signin");
  await page.getByRole("button", { name: "Continue with Test ID" }).click();
  await expect(page.locator('input[name="login"]')).toBeVisible();
  expect(new URL(page.url()).origin).toBe(new URL(process.env.PAGODA_OIDC_ISSUER!).origin);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

test("signs in through the OpenID provider's pages and lands in the workspace its domain rule names, as a member", async ({ page }) => {
  await ensureRuleWorkspace();
  const login = `ada-${randomUUID().slice(0, 8)}@sso-e2e.example`;
  await signInAtProvider(page, login);
  await expect(page).toHaveURL(new RegExp(`/w/${RULE_WORKSPACE}$`));
  await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
  // A member: the owners-only settings say so.
  await page.goto(`/w/${RULE_WORKSPACE}/settings`);
  await expect(page.getByTestId("tokens-owners-only")).toContainText("Only owners of this workspace");

  // Signing out and in again is the same account, not a second one.
  await page.goto(`/w/${RULE_WORKSPACE}`);
  await signOut(page);
  await signInAtProvider(page, login);
  await expect(page).toHaveURL(new RegExp(`/w/${RULE_WORKSPACE}$`));

  // Both sign-ins are on the person's account page, saying how they were made.
  await page.goto("/account");
  const signIns = page.getByTestId("activity-row").and(page.locator('[data-action="user.signin"][data-outcome="success"]'));
  await expect(signIns).toHaveCount(2);
  for (const row of await signIns.all()) {
    await expect(row).toContainText("Signed in by single sign-on");
    await expect(row).toContainText(login);
  }
});

test("an address the provider has not verified is refused on the sign-in page, and no account is made", async ({ page }) => {
  const login = `unverified-${randomUUID().slice(0, 8)}@example.com`;
  await signInAtProvider(page, login);
  await expect(page).toHaveURL(/\/signin\?error=OidcEmailUnverified/);
  await expect(page.getByTestId("form-error")).toContainText("Your identity provider has not verified your email address");
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    expect((await client.query(`SELECT 1 FROM "User" WHERE email = $1`, [login])).rowCount).toBe(0);
  } finally {
    await client.end();
  }
});

test("an address that has a password account is linked only after signing in with its password and confirming", async ({ page }) => {
  const email = uniqueEmail("sso-local");
  const tenant = await signUp(page, "Local Person", email);
  await signOut(page);

  await signInAtProvider(page, email);
  await expect(page).toHaveURL(/\/account\/link\?pending=/);
  await expect(page.getByText(`An account with the address ${email} already exists`)).toBeVisible();
  await page.getByRole("link", { name: "Sign in with your password" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account\/link\?pending=/);
  // The same confirmation without the CSRF header, as a page on another site could send it: refused, nothing linked.
  const pending = new URL(page.url()).searchParams.get("pending")!;
  const forged = await page.request.post("/api/oidc/link", { data: { pending } });
  expect(forged.status()).toBe(403);
  expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("csrf");
  expect(await identitiesOf(email)).toBe(0);
  await page.getByRole("button", { name: "Link and continue" }).click();
  await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
  expect(await identitiesOf(email)).toBe(1);

  await signOut(page);
  await signInAtProvider(page, email);
  await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
  await page.goto("/account");
  const activity = page.getByTestId("activity-row");
  await expect(activity.first()).toContainText("Signed in by single sign-on");
  await expect(activity.and(page.locator('[data-action="oidc.linked"][data-outcome="success"]'))).toContainText("Linked a single sign-on identity");
});
