import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";

export const PASSWORD = "a long and varied passphrase";

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

/** Signs up through the page and waits for the new workspace; returns its slug. */
export async function signUp(page: Page, name: string, email: string, password = PASSWORD): Promise<string> {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
  const match = /\/w\/([a-z0-9-]+)$/.exec(new URL(page.url()).pathname);
  expect(match, `workspace URL, got ${page.url()}`).not.toBeNull();
  return match![1]!;
}

export async function createSite(page: Page, name: string): Promise<void> {
  await page.getByLabel("Site name").fill(name);
  await page.getByRole("button", { name: "Create site" }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
}

/** The CSRF token next-auth issued to this context, as our pages send it. */
export async function csrfToken(request: APIRequestContext): Promise<string> {
  const response = await request.get("/api/auth/csrf");
  return ((await response.json()) as { csrfToken: string }).csrfToken;
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByRole("heading", { name: "Sign in to your workspace" })).toBeVisible();
}
