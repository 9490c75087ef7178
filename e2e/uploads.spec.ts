import { randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import { buildZip } from "@/lib/uploads/test-support";
import { createSite, signUp, uniqueEmail } from "./support";

test("uploading a zip shows real progress, then the deploy in the history", async ({ page }) => {
  await signUp(page, "Uploader", uniqueEmail("upload"));
  await createSite(page, "gallery");
  // Random bytes do not compress, so the request really carries ~1.5 MB.
  const zip = await buildZip([
    { name: "dist/index.html", data: "<h1>Gallery</h1>" },
    { name: "dist/photo.bin", data: randomBytes(1536 * 1024), compress: false },
  ]);
  // Slow the upload down so that progress is something a person (and this test) can watch.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 400 * 1024 });

  await page.locator("#site-zip").setInputFiles({ name: "gallery.zip", mimeType: "application/zip", buffer: zip });
  const progress = page.getByRole("progressbar", { name: "Upload progress" });
  await expect(progress).toBeVisible();
  await expect.poll(async () => Number(await progress.getAttribute("aria-valuenow")), { timeout: 15_000 }).toBeGreaterThan(10);
  await expect(page.getByText("gallery.zip was accepted as a new deploy.")).toBeVisible({ timeout: 30_000 });

  const history = page.getByRole("list", { name: "Deploy history" });
  await expect(history.getByTestId("deploy")).toHaveCount(1);
  await expect(history.getByTestId("deploy").first()).toContainText("2 files");
});

test("a bad zip gets a specific error and no deploy", async ({ page }) => {
  await signUp(page, "Bad Zipper", uniqueEmail("badzip"));
  await createSite(page, "broken");
  const noIndex = await buildZip([
    { name: "about.html", data: "<p>about</p>" },
    { name: "css/site.css", data: "p{}" },
  ]);
  await page.locator("#site-zip").setInputFiles({ name: "site.zip", mimeType: "application/zip", buffer: noIndex });
  await expect(page.getByTestId("form-error")).toContainText("index.html");
  await expect(page.getByText("No deploys yet.")).toBeVisible();

  await page.locator("#site-zip").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await expect(page.getByTestId("form-error")).toHaveText("“notes.txt” is not a .zip file. Zip your site's folder and upload the .zip.");

  await page.locator("#site-zip").setInputFiles({ name: "fake.zip", mimeType: "application/zip", buffer: Buffer.from("this is not really a zip file at all") });
  await expect(page.getByTestId("form-error")).toContainText("not a zip");
  await expect(page.getByText("No deploys yet.")).toBeVisible();
});
