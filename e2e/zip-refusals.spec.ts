import { expect, test } from "@playwright/test";
import { buildZip, craftZip, dataOffset, patchEntry } from "@/lib/uploads/test-support";
import { createSite, csrfToken, signUp, uniqueEmail } from "./support";

/**
 * Zips crafted to break the record of their own refusal or to say two
 * things at once, sent to the running dashboard: each gets its specific
 * 422, in our words, and leaves no deploy.
 */
test("hostile zips get their specific 422 over HTTP and on the page", async ({ page }) => {
  const tenant = await signUp(page, "Zip Crafter", uniqueEmail("zipcraft"));
  await createSite(page, "crafted");
  const csrf = await csrfToken(page.request);
  const deploys = `/api/tenants/${tenant}/sites/crafted/deploys`;

  const nul = patchEntry(
    await buildZip([
      { name: "index.html", data: "<h1>x</h1>" },
      { name: "ok.htmlX.php", data: "<?php" },
    ]),
    "ok.htmlX.php",
    { rename: "ok.html\u0000.php" },
  );
  const renamed = craftZip([{ name: "index.html", data: "<h1>hi</h1>", local: { name: "../evil.html" } }]);
  const damaged = await buildZip([
    { name: "index.html", data: "<h1>x</h1>" },
    { name: "app.js", data: "console.log('x');\n".repeat(300) },
  ]);
  damaged.fill(0xff, dataOffset(damaged, "app.js"), dataOffset(damaged, "app.js") + 4);

  for (const [zip, code, entry, words] of [
    [nul, "bad_name", "ok.html\u0000.php", /U\+0000/],
    [renamed, "zip_header_mismatch", "index.html", /"\.\.\/evil\.html"/],
    [damaged, "corrupt", "app.js", /compressed data of "app\.js" is damaged/],
  ] as const) {
    const response = await page.request.post(deploys, { data: zip, headers: { "content-type": "application/zip", "x-csrf-token": csrf } });
    expect(response.status(), await response.text()).toBe(422);
    const body = (await response.json()) as { error: { code: string; message: string; entry?: string } };
    expect(body.error).toMatchObject({ code, entry });
    expect(body.error.message).toMatch(words);
    expect(body.error.message).not.toMatch(/invalid (block type|local file header)|Z_DATA_ERROR|unsupported Unicode/);
  }

  await page.locator("#site-zip").setInputFiles({ name: "renamed.zip", mimeType: "application/zip", buffer: renamed });
  await expect(page.getByTestId("form-error")).toContainText("in two different ways");
  await page.locator("#site-zip").setInputFiles({ name: "nul.zip", mimeType: "application/zip", buffer: nul });
  await expect(page.getByTestId("form-error")).toContainText("U+0000");
  await expect(page.getByText("No deploys yet.")).toBeVisible();
});
