import { expect, test } from "@playwright/test";
import { createSite, PASSWORD, signOut, signUp, uniqueEmail } from "./support";

test("a person signs up, creates a site, opens it, signs out and back in", async ({ page }) => {
  const email = uniqueEmail("journey");
  const tenant = await signUp(page, "Journey Tester", email);

  await expect(page.getByText("No sites yet")).toBeVisible();
  await createSite(page, "portfolio");
  await expect(page.getByTestId("site-url")).toHaveText(new RegExp(`^https?://portfolio-${tenant}\\.pagoda\\.localhost(:\\d+)?/$`));

  await page.getByRole("link", { name: "Sites" }).click();
  const listed = page.getByRole("link", { name: /portfolio/ });
  await expect(listed).toBeVisible();
  await listed.click();
  await expect(page).toHaveURL(new RegExp(`/w/${tenant}/sites/portfolio$`));

  await signOut(page);
  await page.goto(`/w/${tenant}`);
  await expect(page).toHaveURL(/\/signin\?callbackUrl=/);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
  await expect(page.getByRole("link", { name: /portfolio/ })).toBeVisible();
});

test("forms explain what is wrong, next to the field", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Weak");
  await page.getByLabel("Email").fill(uniqueEmail("weak"));
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Passwords need at least 10 characters.")).toBeVisible();
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");

  const email = uniqueEmail("dup");
  await signUp(page, "Dup", email);
  await page.getByLabel("Site name").fill("www");
  await page.getByRole("button", { name: "Create site" }).click();
  await expect(page.getByText("This name is reserved. Choose another.")).toBeVisible();
  await page.getByLabel("Site name").fill("bad--name");
  await page.getByRole("button", { name: "Create site" }).click();
  await expect(page.getByText("Site names cannot contain two dashes in a row.")).toBeVisible();
  await createSite(page, "taken");
  await page.getByRole("link", { name: "Sites" }).click();
  await page.getByLabel("Site name").fill("taken");
  await page.getByRole("button", { name: "Create site" }).click();
  await expect(page.getByText("You already have a site called “taken”.")).toBeVisible();

  await signOut(page);
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Dup again");
  await page.getByLabel("Email").fill(email.toUpperCase());
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("An account with this email already exists. Sign in instead.")).toBeVisible();
});

test("a wrong password and an unknown email get the same answer", async ({ page }) => {
  const email = uniqueEmail("enum");
  await signUp(page, "Enum", email);
  await signOut(page);
  for (const [who, password] of [
    [email, "not the right password"],
    [uniqueEmail("nobody"), PASSWORD],
  ] as const) {
    await page.getByLabel("Email").fill(who);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
  }
});

test("deleting a site needs its name typed, then removes it", async ({ page }) => {
  const tenant = await signUp(page, "Deleter", uniqueEmail("delete"));
  await createSite(page, "short-lived");
  await page.getByRole("button", { name: "Delete site" }).click();
  const confirm = page.getByRole("button", { name: "Delete forever" });
  await expect(confirm).toBeDisabled();
  await page.getByLabel("Site name").fill("short-lived");
  await confirm.click();
  await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
  await expect(page.getByText("No sites yet")).toBeVisible();
});

test("too many sign-in attempts are refused with a clear message", async ({ page, request }) => {
  const email = uniqueEmail("limited");
  await signUp(page, "Limited", email);
  await signOut(page);
  for (let i = 0; i < 10; i += 1) {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(`wrong password ${i}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
  }
  // Even the right password is refused now, until the window passes.
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("form-error")).toHaveText(/^Too many sign-in attempts\. Try again in 1[45] minutes \(at \d{1,2}:\d{2}( [AP]M)?\)\.$/);

  const csrf = ((await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string }).csrfToken;
  const response = await request.post("/api/auth/callback/credentials", { form: { email, password: PASSWORD, csrfToken: csrf, json: "true" } });
  expect(response.status()).toBe(429);
  expect(Number(response.headers()["retry-after"])).toBeGreaterThan(0);
});

test("before the page's script runs, forms cannot be sent and a password never reaches the address bar", async ({ browser, page: signedIn }) => {
  // Without JavaScript the page stays as the server rendered it: the state
  // every visitor's page is in until React has hydrated it.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    await page.goto("/signup");
    await expect(page.getByRole("button", { name: "Create account" })).toBeDisabled();
    await page.getByLabel("Your name").fill("Early Bird");
    await page.getByLabel("Email").fill(uniqueEmail("early"));
    await page.getByLabel("Password").fill(PASSWORD);
    // Enter in a field submits a form natively unless its submit button is disabled.
    await page.getByLabel("Password").press("Enter");
    await expect(page).toHaveURL(/\/signup$/);
    expect(page.url()).not.toContain("password");
    await expect(page.getByLabel("Password")).toHaveValue(PASSWORD);

    await page.goto("/signin");
    await expect(page.getByRole("button", { name: "Sign in" })).toBeDisabled();
    await page.getByLabel("Email").fill(uniqueEmail("early"));
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByLabel("Password").press("Enter");
    await expect(page).toHaveURL(/\/signin$/);
    await expect(page.getByLabel("Password")).toHaveValue(PASSWORD);
  } finally {
    await context.close();
  }

  // Signed in, the same holds for the buttons of the dashboard itself.
  const tenant = await signUp(signedIn, "Early Owner", uniqueEmail("early-owner"));
  await createSite(signedIn, "early");
  const session = await browser.newContext({ javaScriptEnabled: false, storageState: await signedIn.context().storageState() });
  const still = await session.newPage();
  try {
    await still.goto(`/w/${tenant}`);
    await expect(still.getByRole("button", { name: "Create site" })).toBeDisabled();
    await expect(still.getByRole("button", { name: "Sign out" })).toBeDisabled();
    await still.goto(`/w/${tenant}/sites/early`);
    await expect(still.getByRole("button", { name: "Delete site" })).toBeDisabled();
  } finally {
    await session.close();
  }
});
