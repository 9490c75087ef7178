import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import http from "node:http";
import { csrfToken, PASSWORD, signOut, signUp, uniqueEmail } from "./support";

const CREDENTIALS = "/api/auth/callback/credentials";

/** One credentials sign-in sent as a raw form, so that keys can repeat. */
async function signInForm(request: APIRequestContext, path: string, fields: [string, string][]) {
  const body = new URLSearchParams([...fields, ["csrfToken", await csrfToken(request)], ["json", "true"]]).toString();
  const response = await request.post(path, { headers: { "content-type": "application/x-www-form-urlencoded" }, data: body, maxRedirects: 0 });
  return { status: response.status(), body: await response.text(), headers: response.headers() };
}

/** Exhausts the per-email sign-in limit of `email` through the normal path. */
async function lockOut(request: APIRequestContext, email: string): Promise<void> {
  for (let i = 0; i < 10; i += 1) {
    expect(
      (
        await signInForm(request, CREDENTIALS, [
          ["email", email],
          ["password", `wrong ${i}`],
        ])
      ).status,
    ).toBe(401);
  }
  expect(
    (
      await signInForm(request, CREDENTIALS, [
        ["email", email],
        ["password", PASSWORD],
      ])
    ).status,
  ).toBe(429);
}

async function newAccount(page: Page, label: string): Promise<{ email: string; tenant: string }> {
  const email = uniqueEmail(label);
  const tenant = await signUp(page, label, email);
  await signOut(page);
  return { email, tenant };
}

test.describe("sign-in limits cannot be stepped around", () => {
  test("an extra path segment is not a sign-in: 404, even for a locked account with its right password", async ({ page, request }) => {
    const { email } = await newAccount(page, "segment");
    // Before any lock: wrong passwords through /x are not counted sign-ins, they are refused outright.
    for (const suffix of ["/x", "/x/y", "%2Fx"]) {
      expect(
        (
          await signInForm(request, `${CREDENTIALS}${suffix}`, [
            ["email", email],
            ["password", "wrong"],
          ])
        ).status,
        suffix,
      ).toBe(404);
    }
    await lockOut(request, email);
    const sneaky = await signInForm(request, `${CREDENTIALS}/x`, [
      ["email", email],
      ["password", PASSWORD],
    ]);
    expect(sneaky.status).toBe(404);
    expect(sneaky.headers["set-cookie"] ?? "").not.toContain("session-token");
    expect(
      (
        await signInForm(request, CREDENTIALS, [
          ["email", email],
          ["password", PASSWORD],
        ])
      ).status,
    ).toBe(429);
  });

  test("a repeated email or password key is refused, so the limit keys on the email next-auth would use", async ({ page, request }) => {
    const { email } = await newAccount(page, "repeat");
    await lockOut(request, email);
    const decoy = uniqueEmail("decoy");
    for (const fields of [
      [
        ["email", decoy],
        ["email", email],
        ["password", PASSWORD],
      ],
      [
        ["email", email],
        ["password", "wrong"],
        ["password", PASSWORD],
      ],
    ] as [string, string][][]) {
      const answer = await signInForm(request, CREDENTIALS, fields);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "duplicate_field" } });
      expect(answer.headers["set-cookie"] ?? "").not.toContain("session-token");
    }
    // A JSON body, which next-auth would also read, is not a second way in.
    const json = await request.post(CREDENTIALS, { data: { email, password: PASSWORD, csrfToken: await csrfToken(request), json: "true" }, maxRedirects: 0 });
    expect(json.status()).toBe(415);
  });

  test("an oversized sign-in body is refused with 413, declared or streamed", async ({ request, baseURL }) => {
    const declared = await request.post(CREDENTIALS, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      data: `email=a%40example.com&password=${"x".repeat(20 * 1024 * 1024)}`,
      maxRedirects: 0,
    });
    expect(declared.status()).toBe(413);

    // Chunked, with no Content-Length to trust: the server must count.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(new URL(CREDENTIALS, baseURL), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked" },
      });
      let sent = 0;
      let answered = false;
      req.on("response", (response) => {
        answered = true;
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      // Once answered, the server may close while we still write; that is the point.
      req.on("error", (error) => (answered ? undefined : reject(error)));
      const chunk = Buffer.alloc(64 * 1024, "x");
      const pump = () => {
        while (!answered && sent < 20 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (!answered) req.end();
      };
      req.write("email=a%40example.com&password=");
      pump();
    });
    expect(status).toBe(413);
  });
});

test.describe("after sign-in the browser stays on the dashboard", () => {
  const HOSTILE = [
    "/\\evil.example/x",
    "/\t/evil.example/x",
    "//evil.example/x",
    "/.//evil.example/x",
    "https://evil.example/x",
    "javascript:alert(document.domain)",
    "/\r\n/evil.example/x",
  ];

  test("every hostile callbackUrl ends on our own origin", async ({ page, baseURL }) => {
    const { email, tenant } = await newAccount(page, "redirect");
    // Should the page ever leave for evil.example, it lands here rather than on a DNS error.
    await page.context().route(
      (url) => url.hostname === "evil.example",
      (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<h1>evil</h1>" }),
    );
    const ours = new URL(baseURL!).origin;
    for (const callbackUrl of HOSTILE) {
      await page.goto(`/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByRole("heading", { name: "Sites", level: 1 }), callbackUrl).toBeVisible();
      expect(new URL(page.url()).origin, callbackUrl).toBe(ours);
      expect(page.url()).toBe(`${ours}/w/${tenant}`);
      await page.context().clearCookies();
    }
    // A same-origin callback is still honoured.
    await page.goto(`/signin?callbackUrl=${encodeURIComponent(`/w/${tenant}?from=signin`)}`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${ours}/w/${tenant}?from=signin`);
  });

  test("next-auth's own redirect after sign-in stays on our origin too", async ({ page, request, baseURL }) => {
    const { email } = await newAccount(page, "redirect-server");
    const ours = new URL(baseURL!).origin;
    for (const callbackUrl of ["/\\evil.example/x", "https://evil.example/x", "//evil.example/x"]) {
      const response = await request.post(CREDENTIALS, {
        form: { email, password: PASSWORD, csrfToken: await csrfToken(request), callbackUrl },
        maxRedirects: 0,
      });
      expect(response.status()).toBe(302);
      const location = response.headers()["location"]!;
      expect(new URL(location, ours).origin, callbackUrl).toBe(ours);
      expect(location, callbackUrl).not.toContain("evil.example");
    }
  });
});

test.describe("sessions can be ended", () => {
  test("changing the password ends a copied session, keeps this one, and only the new password signs in", async ({ browser, page, baseURL }) => {
    const email = uniqueEmail("changer");
    const tenant = await signUp(page, "Changer", email);
    const copied = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
    try {
      expect((await copied.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(200);

      await page.getByRole("link", { name: "Account" }).click();
      await expect(page.getByRole("heading", { name: "Account", level: 1 })).toBeVisible();
      await page.getByLabel("Current password").fill("not my password at all");
      await page.getByLabel("New password").fill("a brand new passphrase");
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByText("Your current password is not right.")).toBeVisible();

      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByLabel("New password").fill("short");
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByText("Passwords need at least 10 characters.")).toBeVisible();

      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByLabel("New password").fill("a brand new passphrase");
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByTestId("form-info")).toHaveText("Password changed. You are still signed in here; every other device has been signed out.");

      expect((await copied.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(401);
      expect(await (await copied.request.get("/api/auth/session")).json()).toEqual({});
      // This browser got a fresh session of the new version.
      await page.goto(`/w/${tenant}`);
      await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
    } finally {
      await copied.close();
    }

    await signOut(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("form-error")).toHaveText("Wrong email or password.");
    await page.getByLabel("Password").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(new RegExp(`/w/${tenant}$`));
  });

  test("sign out everywhere ends this session and every copy of it", async ({ browser, page, baseURL }) => {
    const tenant = await signUp(page, "Everywhere", uniqueEmail("everywhere"));
    const copied = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
    try {
      const other = await copied.newPage();
      await other.goto(`/w/${tenant}`);
      await expect(other.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();

      await page.goto("/account");
      await page.getByRole("button", { name: "Sign out everywhere" }).click();
      await expect(page).toHaveURL(/\/signin\?signedOut=everywhere$/);
      await expect(page.getByTestId("form-info")).toHaveText("You have been signed out on every device, this one included.");
      // This browser's cookie is cleared, not only made useless.
      expect((await page.context().cookies()).map((cookie) => cookie.name)).not.toContain("next-auth.session-token");
      await page.goto(`/w/${tenant}`);
      await expect(page).toHaveURL(/\/signin\?callbackUrl=/);

      await other.goto(`/w/${tenant}`);
      await expect(other).toHaveURL(/\/signin\?callbackUrl=/);
      expect((await copied.request.get(`/api/tenants/${tenant}/sites`)).status()).toBe(401);
    } finally {
      await copied.close();
    }
  });

  test("the account APIs need the CSRF token and refuse oversized bodies", async ({ page }) => {
    await signUp(page, "Guarded", uniqueEmail("guarded"));
    const request = page.context().request;
    for (const path of ["/api/account/password", "/api/account/sign-out-everywhere"]) {
      expect((await request.post(path, { data: {} })).status(), path).toBe(403);
      const big = await request.post(path, {
        headers: { "x-csrf-token": await csrfToken(request), "content-type": "application/json" },
        data: JSON.stringify({ currentPassword: "x".repeat(20_000), newPassword: "y" }),
      });
      expect(big.status(), path).toBe(413);
    }
    // Still signed in: nothing above changed anything.
    await page.reload();
    await expect(page.getByRole("heading", { name: "Sites", level: 1 })).toBeVisible();
  });
});

test("when signing in right after sign-up is refused by a limit, the page says so and when to try again", async ({ page, request }) => {
  const email = uniqueEmail("limited-signup");
  // Someone has already used up the sign-in attempts for this address before it was registered.
  for (let i = 0; i < 10; i += 1) {
    expect(
      (
        await signInForm(request, CREDENTIALS, [
          ["email", email],
          ["password", `guess ${i}`],
        ])
      ).status,
    ).toBe(401);
  }
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Limited");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("form-error")).toHaveText(
    /^Your account was created, but signing in was refused: too many sign-in attempts\. Try again in 1[45] minutes \(at \d{1,2}:\d{2}( [AP]M)?\)\. Then sign in with your new password\.$/,
  );
});
