/**
 * Email that really arrives: the dashboard sends through the run's Mailpit
 * (started by e2e/stack.ts), and these tests read what arrived through its
 * API and follow the links in a real browser.
 */
import { expect, test } from "@playwright/test";
import { linkIn, messagesTo, waitForMessage } from "@/tests/support/mailpit";
import { PASSWORD, signUp, uniqueEmail } from "./support";

const mailpit = () => process.env.E2E_MAILPIT_URL!;
const NEW_PASSWORD = "a freshly chosen passphrase";

test("sign-up mails a confirmation link; following it confirms the address once and the banner goes", async ({ page }) => {
  const email = uniqueEmail("verify");
  const tenant = await signUp(page, "Vera", email);
  await expect(page.getByTestId("verify-email-banner")).toContainText(`we sent a link to ${email}`);

  const link = linkIn(await waitForMessage(mailpit(), email), "/verify-email");
  await page.goto(link);
  await expect(page.getByText(`Confirm that ${email} is your email address.`)).toBeVisible();
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByTestId("form-info")).toHaveText(`Thank you: ${email} is confirmed.`);

  await page.goto(`/w/${tenant}`);
  await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
  await expect(page.getByTestId("verify-email-banner")).toHaveCount(0);

  await page.goto(link);
  await expect(page.getByTestId("form-error")).toContainText("This link has already been used");
});

test("a forgotten password is reset by email: every other session ends, only the new password works, the link works once", async ({
  browser,
  page,
  baseURL,
}) => {
  const email = uniqueEmail("forgot");
  const tenant = await signUp(page, "Forgetful", email);
  // A second browser signed in to the same account, which the reset must sign out.
  const elsewhere = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
  const visitor = await browser.newContext({ baseURL });
  try {
    expect((await elsewhere.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(200);
    const reset = await visitor.newPage();

    // An unknown address gets the very same answer, and no email.
    const stranger = uniqueEmail("stranger");
    await reset.goto("/signin");
    await reset.getByRole("link", { name: "Forgot password?" }).click();
    // Filled before the page's script runs, the field would be emptied by hydration.
    await expect(reset.getByRole("button", { name: "Send the reset link" })).toBeEnabled();
    await reset.getByLabel("Email").fill(stranger);
    await reset.getByRole("button", { name: "Send the reset link" }).click();
    const answer = await reset.getByTestId("form-info").textContent();
    expect(answer).toContain("If an account uses this address");

    await reset.goto("/forgot-password");
    await expect(reset.getByRole("button", { name: "Send the reset link" })).toBeEnabled();
    await reset.getByLabel("Email").fill(email);
    await reset.getByRole("button", { name: "Send the reset link" }).click();
    await expect(reset.getByTestId("form-info")).toHaveText(answer!);

    const link = linkIn(await waitForMessage(mailpit(), email, { count: 2 }), "/reset-password");
    // The stranger's request was answered first; had it been mailed, it would be there by now.
    expect(await messagesTo(mailpit(), stranger)).toHaveLength(0);

    await reset.goto(link);
    await expect(reset.getByText(`Choose a new password for ${email}.`)).toBeVisible();
    await reset.getByLabel("New password").fill("short");
    await reset.getByRole("button", { name: "Set the new password" }).click();
    await expect(reset.getByText("Passwords need at least 10 characters.")).toBeVisible();
    await reset.getByLabel("New password").fill(NEW_PASSWORD);
    await reset.getByRole("button", { name: "Set the new password" }).click();
    await expect(reset).toHaveURL(/\/signin\?reset=done$/);
    await expect(reset.getByTestId("form-info")).toContainText("Your password has been changed");

    // The other browser's session has ended.
    expect((await elsewhere.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(401);

    await reset.getByLabel("Email").fill(email);
    await reset.getByLabel("Password").fill(PASSWORD);
    await reset.getByRole("button", { name: "Sign in" }).click();
    await expect(reset.getByTestId("form-error")).toHaveText("Wrong email or password.");
    await reset.getByLabel("Password").fill(NEW_PASSWORD);
    await reset.getByRole("button", { name: "Sign in" }).click();
    await expect(reset).toHaveURL(new RegExp(`/w/${tenant}$`));

    // The link is spent; a changed one was never valid.
    await reset.goto(link);
    await expect(reset.getByTestId("form-error")).toContainText("This link has already been used");
    await expect(reset.getByLabel("New password")).toHaveCount(0);
    const token = new URL(link).searchParams.get("token")!;
    await reset.goto(`/reset-password?token=${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`);
    await expect(reset.getByTestId("form-error")).toContainText("This link is not valid");

    // The person's own account page shows the reset and the sign-ins around it; the workspace's log does not.
    await reset.goto("/account");
    const activity = reset.getByTestId("activity-row");
    const resetRow = activity.and(reset.locator('[data-action="user.password_reset"]'));
    await expect(resetRow).toHaveCount(1);
    await expect(resetRow).toContainText("Reset their password by email");
    await expect(resetRow).toContainText(email);
    await expect(activity.and(reset.locator('[data-action="user.signin"][data-outcome="failure"]'))).toHaveCount(1);
    await expect(activity.first()).toHaveAttribute("data-action", "user.signin");
    await expect(activity.first()).toHaveAttribute("data-outcome", "success");
    await reset.goto(`/w/${tenant}/audit`);
    await expect(reset.getByTestId("audit-row").first()).toBeVisible();
    await expect(reset.getByTestId("audit-row").and(reset.locator('[data-action^="user.password"], [data-action="user.signin"]'))).toHaveCount(0);
  } finally {
    await elsewhere.close();
    await visitor.close();
  }
});
