/**
 * Account settings in a real browser against the whole product: the name,
 * an email change through the link that really arrives at the run's Mailpit,
 * and the list of sessions, where ending another browser's session signs it out.
 */
import { expect, test, type Page } from "@playwright/test";
import { messagesTo, waitForMessage } from "@/tests/support/mailpit";
import { PASSWORD, signUp, uniqueEmail } from "./support";

const mailpit = () => process.env.E2E_MAILPIT_URL!;

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto("/signin");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
}

test("change the name, then the email address through the mailed link; the old address is told and the session goes on", async ({ page }) => {
  const email = uniqueEmail("settings");
  const tenant = await signUp(page, "Sam", email);
  await page.goto("/account");

  await expect(page.getByRole("button", { name: "Save name" })).toBeEnabled();
  await page.getByLabel("Name", { exact: true }).fill("Samantha Example");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByTestId("form-info").filter({ hasText: "Name saved." })).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Samantha Example");

  const newEmail = uniqueEmail("settings-new");
  await page.getByLabel("New email address").fill(newEmail);
  await page.getByLabel("Your password").first().fill("not my password");
  await page.getByRole("button", { name: "Send the confirmation link" }).click();
  await expect(page.getByText("Your password is not right.")).toBeVisible();
  await page.getByLabel("Your password").first().fill(PASSWORD);
  await page.getByRole("button", { name: "Send the confirmation link" }).click();
  await expect(page.getByTestId("form-info").filter({ hasText: `We sent a link to ${newEmail}` })).toBeVisible();

  const message = await waitForMessage(mailpit(), newEmail);
  const link = [...message.Text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]).find((url) => new URL(url).pathname === "/account/email");
  expect(link).toBeDefined();
  // Until the link is followed, nothing has changed.
  await expect(page.getByText(`Your address is ${email}`)).toBeVisible();

  await page.goto(link!);
  await expect(page.getByText(`Move your account from ${email} to ${newEmail}?`)).toBeVisible();
  await page.getByRole("button", { name: "Use this address" }).click();
  await expect(page.getByTestId("form-info")).toHaveText(`Done: your account now uses ${newEmail}.`);

  await page.goto("/account");
  await expect(page.getByText(`Your address is ${newEmail} (confirmed)`)).toBeVisible();
  expect((await page.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(200);
  const notice = await waitForMessage(mailpit(), email, { count: 2 });
  expect(notice.Subject).toBe("The email address of your Pagoda account was changed");

  // The link works once.
  await page.goto(link!);
  await expect(page.getByTestId("form-error")).toContainText("This link has already been used");
  expect(await messagesTo(mailpit(), newEmail)).toHaveLength(1);
});

test("the account routes refuse a request without the CSRF header, and change nothing", async ({ page }) => {
  await signUp(page, "Csrf", uniqueEmail("account-csrf"));
  for (const [method, path, data] of [
    ["POST", "/api/account/name", { name: "Forged" }],
    ["POST", "/api/account/email", { newEmail: uniqueEmail("forged"), password: PASSWORD }],
    ["POST", "/api/account/delete", { password: PASSWORD }],
    ["DELETE", "/api/account/sessions/anything", undefined],
  ] as const) {
    const response = await page.request.fetch(path, { method, ...(data ? { data } : {}) });
    expect([path, response.status(), ((await response.json()) as { error: { code: string } }).error.code]).toEqual([path, 403, "csrf"]);
  }
  await page.goto("/account");
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Csrf");
});

test("two browsers show as two sessions; ending the other one signs it out there", async ({ browser, page, baseURL }) => {
  const email = uniqueEmail("sessions");
  const tenant = await signUp(page, "Two", email);
  const other = await browser.newContext({ baseURL });
  try {
    const otherPage = await other.newPage();
    await signIn(otherPage, email);

    await page.goto("/account");
    const sessions = page.getByRole("list", { name: "Sessions" }).getByRole("listitem");
    await expect(sessions).toHaveCount(2);
    await expect(sessions.filter({ hasText: "This browser" })).toHaveCount(1);
    const theirs = sessions.filter({ hasNotText: "This browser" });
    await expect(theirs).toContainText("signed in");

    await theirs.getByRole("button", { name: "Sign out" }).click();
    await expect(sessions).toHaveCount(1);
    await expect(sessions).toContainText("This browser");

    expect((await other.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(401);
    await otherPage.goto(`/w/${tenant}`);
    await expect(otherPage).toHaveURL(/\/signin/);
    // This browser stays signed in.
    expect((await page.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(200);
  } finally {
    await other.close();
  }
});
