import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { DEFAULT_UPLOAD_LIMITS } from "@/lib/uploads/limits";
import { getWithHost } from "@/tests/support/host-get";
import { createSite, signUp, uniqueEmail } from "./support";

/**
 * A folder chosen in the page is zipped in the browser, uploaded with
 * progress, goes live on the real node and is served through the ingress;
 * the history says who sent it, how, with what message and when. A folder
 * the server refuses shows the server's own message and changes nothing.
 */
test.describe.configure({ mode: "serial", timeout: 240_000 });

const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");
const marker = `folder-${randomUUID().slice(0, 8)}`;
const droppedMarker = `dropped-${randomUUID().slice(0, 8)}`;
const MESSAGE = "New landing page, zipped by the browser ✓";
const NAME = "Folder Tester";
const DEEP_PATH = [...Array.from({ length: DEFAULT_UPLOAD_LIMITS.maxPathDepth + 1 }, (_, i) => `l${i + 1}`), "deep.html"].join("/");

let fixtures = "";
let tenant = "";
let host = "";
let p: Page;

async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), data);
  }
}

/** Every value the named progress bar shows, recorded in the page as it changes. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, number[]> = {};
    (window as unknown as { progressSeen: Record<string, number[]> }).progressSeen = seen;
    const record = () => {
      for (const bar of document.querySelectorAll('[role="progressbar"]')) {
        const label = bar.getAttribute("aria-label") ?? "";
        const value = Number(bar.getAttribute("aria-valuenow"));
        const values = (seen[label] ??= []);
        if (values.at(-1) !== value) values.push(value);
      }
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
  });
}

async function progressSeen(page: Page, label: string): Promise<number[]> {
  return page.evaluate((name) => (window as unknown as { progressSeen: Record<string, number[]> }).progressSeen[name] ?? [], label);
}

test.beforeAll(async ({ browser }) => {
  fixtures = await mkdtemp(path.join(tmpdir(), "pagoda-folder-"));
  await writeTree(path.join(fixtures, "public"), {
    "index.html": `<!doctype html><title>Folder site</title><h1 id="marker">${marker}</h1>`,
    // Enough to zip and send for a while under throttling: text to deflate, and noise that does not shrink.
    "assets/app.js": `console.log(${JSON.stringify(marker)});\n`.repeat(20_000),
    "assets/noise.bin": randomBytes(1024 * 1024),
    ".git/config": "[core]\n\tbare = false\n",
    "node_modules/left-out/index.js": "module.exports = 1;\n",
    ".DS_Store": "Finder",
    // Read by the browser as the CLI reads it: neither the draft nor the ignore file is sent.
    ".pagodaignore": "drafts/\n*.psd\n",
    "drafts/wip.html": "<p>not yet</p>",
    "assets/source.psd": "layers",
  });
  // Dropped instead of chosen: a folder of its own, with junk and an ignore file too.
  await writeTree(path.join(fixtures, "dropped"), {
    "index.html": `<!doctype html><title>Dropped site</title><h1 id="marker">${droppedMarker}</h1>`,
    "assets/site.css": "h1 { color: teal; }\n",
    ".DS_Store": "Finder",
    "Thumbs.db": "Explorer",
    ".pagodaignore": "notes/\n*.md\n",
    "notes/todo.html": "<p>private</p>",
    "README.md": "# private\n",
  });
  // Fine on disk, one folder level deeper than a site may have: only the server's limit stops it.
  await writeTree(path.join(fixtures, "refused"), {
    "index.html": "<h1>refused</h1>",
    [DEEP_PATH]: "<p>deep</p>",
  });
  // The viewer's own zone and language, which the server cannot know.
  p = await (await browser.newContext({ timezoneId: "Pacific/Auckland", locale: "en-GB" })).newPage();
});

test.afterAll(async () => {
  await p.context().close();
  await rm(fixtures, { recursive: true, force: true });
});

test("a chosen folder is zipped and uploaded with progress, goes live and is served", async () => {
  tenant = await signUp(p, NAME, uniqueEmail("folder"));
  await createSite(p, "folder");
  host = `folder-${tenant}.pagoda.localhost`;

  await p.getByLabel("Deploy message (optional)").fill(MESSAGE);
  await expect(p.getByText(`${[...MESSAGE].length}/500`)).toBeVisible();
  await recordProgress(p);
  // Slow the page and its upload so that both progress bars are something a person (and this test) can watch.
  const cdp = await p.context().newCDPSession(p);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 6 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 400 * 1024 });
  await p.locator("#site-folder").setInputFiles(path.join(fixtures, "public"));
  await expect(p.getByText("public was accepted as a new deploy.")).toBeVisible({ timeout: 60_000 });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  const zipping = await progressSeen(p, "Zipping progress");
  const uploading = await progressSeen(p, "Upload progress");
  expect(
    zipping.some((value) => value > 0 && value < 100),
    `zipping progress seen: ${zipping.join(", ")}`,
  ).toBe(true);
  expect(
    uploading.some((value) => value > 0 && value < 100),
    `upload progress seen: ${uploading.join(", ")}`,
  ).toBe(true);

  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  // Live is the rollout; the ingress may take a moment longer to route the new host.
  await expect
    .poll(async () => (await getWithHost(new URL("/", ingress).toString(), host)).body, { timeout: 60_000 })
    .toContain(`<h1 id="marker">${marker}</h1>`);
  // What a folder carries but a deploy should not was never sent.
  expect((await getWithHost(new URL("/node_modules/left-out/index.js", ingress).toString(), host)).status).toBe(404);
  expect((await getWithHost(new URL("/.git/config", ingress).toString(), host)).status).toBe(404);
  expect((await getWithHost(new URL("/assets/app.js", ingress).toString(), host)).status).toBe(200);
  for (const ignored of ["/drafts/wip.html", "/assets/source.psd", "/.pagodaignore"]) {
    expect((await getWithHost(new URL(ignored, ingress).toString(), host)).status, ignored).toBe(404);
  }
});

/**
 * Drops a folder from disk on the element as a person drags it from a file
 * manager. Playwright cannot build dropped directory entries itself; the
 * DevTools protocol's drag events carry real paths, and Chromium registers
 * them for the page as it does for a drag from the desktop, so
 * webkitGetAsEntry() gives a real directory entry.
 */
async function dropFromDisk(page: Page, target: Locator, paths: string[]): Promise<void> {
  const box = await target.boundingBox();
  if (!box) throw new Error("the drop zone is not on screen");
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"] as const) await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  await cdp.detach();
}

test("a dropped folder is zipped without its junk and what .pagodaignore names, goes live and is served", async () => {
  await p.goto(`/w/${tenant}`);
  await createSite(p, "dropped");
  const droppedHost = `dropped-${tenant}.pagoda.localhost`;
  await dropFromDisk(p, p.getByTestId("drop-zone"), [path.join(fixtures, "dropped")]);
  await expect(p.getByText("dropped was accepted as a new deploy.")).toBeVisible({ timeout: 60_000 });
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live", { timeout: 180_000 });
  await expect
    .poll(async () => (await getWithHost(new URL("/", ingress).toString(), droppedHost)).body, { timeout: 60_000 })
    .toContain(`<h1 id="marker">${droppedMarker}</h1>`);
  expect((await getWithHost(new URL("/assets/site.css", ingress).toString(), droppedHost)).status).toBe(200);
  for (const left of ["/.DS_Store", "/Thumbs.db", "/notes/todo.html", "/README.md", "/.pagodaignore"]) {
    expect((await getWithHost(new URL(left, ingress).toString(), droppedHost)).status, left).toBe(404);
  }
  // Only the two site files were sent: the junk and the ignored files never left the browser.
  await expect(p.getByRole("list", { name: "Deploy history" }).getByTestId("deploy")).toContainText("2 files");
});

test("the history says who deployed, how, with what message and when, in the viewer's zone", async () => {
  const problems: string[] = [];
  const onConsole = (message: { type(): string; text(): string }) => {
    if (message.type() === "error" || /hydrat/i.test(message.text())) problems.push(message.text());
  };
  p.on("console", onConsole);
  await p.goto(`/w/${tenant}/sites/folder`);
  const deploy = p.getByRole("list", { name: "Deploy history" }).getByTestId("deploy");
  await expect(deploy).toHaveCount(1);
  await expect(deploy.getByTestId("deploy-message")).toHaveText(MESSAGE);
  await expect(deploy.getByTestId("deploy-by")).toHaveText(NAME);
  await expect(deploy.getByTestId("deploy-source")).toHaveText("via browser");
  await expect(deploy).toContainText("3 files");

  const time = deploy.locator("time");
  // Upgraded in the browser from the server's UTC time to a relative one.
  await expect(time).toHaveAttribute("data-relative", "");
  await expect(time).toHaveText(/^(now|\d+ minutes? ago)$/);
  const iso = await time.getAttribute("datetime");
  expect(new Date(iso!).toISOString()).toBe(iso);
  // The exact time on hover is the viewer's wall clock, not the server's or UTC.
  const auckland = new Intl.DateTimeFormat("en-GB", { timeZone: "Pacific/Auckland", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const title = (await time.getAttribute("title")) ?? "";
  expect(title).toContain(auckland.format(new Date(iso!)));
  expect(title).toContain(String(new Date(iso!).getUTCFullYear()));
  expect(title).not.toContain("UTC");
  p.off("console", onConsole);
  // The server rendered UTC and the browser its own zone, without a hydration mismatch.
  expect(problems).toEqual([]);
});

test("a folder the server refuses shows the server's message and creates nothing", async () => {
  await p.goto(`/w/${tenant}/sites/folder`);
  const expected = `The path "${DEEP_PATH}" is nested too deeply: at most ${DEFAULT_UPLOAD_LIMITS.maxPathDepth} levels of folders are allowed.`;
  await p.locator("#site-folder").setInputFiles(path.join(fixtures, "refused"));
  await expect(p.getByTestId("form-error")).toHaveText(expected);

  await p.reload();
  await expect(p.getByRole("list", { name: "Deploy history" }).getByTestId("deploy")).toHaveCount(1);
  const listed = await p.request.get(`/api/tenants/${tenant}/sites/folder/deploys`);
  expect(((await listed.json()) as { deploys: unknown[] }).deploys).toHaveLength(1);
  await expect(p.getByTestId("site-status")).toHaveAttribute("data-phase", "Live");
  expect((await getWithHost(new URL("/", ingress).toString(), host)).body).toContain(marker);
});
