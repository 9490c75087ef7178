import { expect, test, type Page } from "@playwright/test";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { dashboardUrl } from "./dashboard-url";
import { createSite, signUp, uniqueEmail } from "./support";

/**
 * The pagoda CLI against the whole product on a real node: a token made on
 * the settings page logs the CLI in, a folder deploys and is served through
 * the ingress, and a revoked token makes the next command fail with a clear
 * 401. The CLI runs as a child process, as a person or CI would run it.
 */
test.describe.configure({ mode: "serial", timeout: 240_000 });

const ingress = new URL(process.env.E2E_INGRESS_URL ?? "http://127.0.0.1:18080");
const bin = path.resolve("cli/bin/pagoda.mjs");

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let work = "";
let configHome = "";

/** Runs `pagoda <args>` with its own config folder; never PAGODA_TOKEN from the test's environment. */
function pagoda(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.PAGODA_TOKEN;
    delete env.PAGODA_URL;
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...env, XDG_CONFIG_HOME: configHome, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? "");
  });
}

async function createToken(p: Page, tenant: string, name: string): Promise<string> {
  await p.goto(`/w/${tenant}/settings`);
  await p.getByLabel("Name").fill(name);
  await expect(p.getByLabel(/^deploy/)).toBeChecked();
  await expect(p.getByLabel(/^read/)).toBeChecked();
  await p.getByTestId("token-create").click();
  const value = p.getByTestId("token-value");
  await expect(value).toContainText("pgd_");
  const token = (await value.textContent())?.trim() ?? "";
  expect(token).toMatch(/^pgd_\S+$/);
  return token;
}

async function revokeToken(p: Page, tenant: string, name: string): Promise<void> {
  await p.goto(`/w/${tenant}/settings`);
  const row = p.getByTestId("token-row").filter({ hasText: name });
  await row.getByTestId("token-revoke").click();
  await expect(row).toContainText("Revoked");
}

let tenant = "";
let p: Page;

test.beforeAll(async ({ browser }) => {
  work = await mkdtemp(path.join(os.tmpdir(), "pagoda-e2e-cli-"));
  configHome = path.join(work, "config");
  p = await (await browser.newContext()).newPage();
  tenant = await signUp(p, "CLI Tester", uniqueEmail("cli"));
});

test.afterAll(async () => {
  await p.context().close();
  await rm(work, { recursive: true, force: true });
});

test("a token from the settings page deploys a folder with the CLI, the URL serves it, and once revoked the CLI gets a clear 401", async () => {
  await createSite(p, "handbook");
  const token = await createToken(p, tenant, "ci-pipeline");

  const login = await pagoda(["login", "--url", dashboardUrl, "--token-stdin"], { stdin: `${token}\n` });
  expect(login, login.stderr).toMatchObject({ code: 0 });
  expect(login.stdout).toContain(`workspace ${tenant}`);
  const stored = path.join(configHome, "pagoda", "config.json");
  expect((await stat(stored)).mode & 0o777).toBe(0o600);
  expect((await stat(path.dirname(stored))).mode & 0o777).toBe(0o700);

  const site = path.join(work, "site");
  await mkdir(path.join(site, "assets"), { recursive: true });
  await mkdir(path.join(site, ".git"), { recursive: true });
  await writeFile(path.join(site, "index.html"), '<!doctype html><title>CLI</title><h1 id="v">deployed by the cli</h1>');
  await writeFile(path.join(site, "assets", "app.js"), "console.log('cli');\n");
  await writeFile(path.join(site, ".git", "config"), "[remote] secret");
  await writeFile(path.join(site, "notes.txt"), "kept out by the ignore file");
  await writeFile(path.join(site, ".pagodaignore"), "notes.txt\n");

  const deployed = await pagoda(["deploy", site, "--site", "handbook", "--message", "First release from CI", "--json"]);
  expect(deployed, deployed.stderr).toMatchObject({ code: 0 });
  const result = JSON.parse(deployed.stdout) as { ok: boolean; phase: string; url: string; deploy: { id: string; fileCount: number } };
  expect(result).toMatchObject({ ok: true, phase: "Live", url: `http://handbook-${tenant}.pagoda.localhost:${ingress.port}/` });
  expect(result.deploy.fileCount).toBe(2);

  const host = `handbook-${tenant}.pagoda.localhost`;
  // Live is the rollout; the ingress may take a moment longer to route a new host.
  await expect.poll(async () => (await getWithHost(new URL("/", ingress).toString(), host)).body, { timeout: 60_000 }).toContain("deployed by the cli");
  expect((await getWithHost(new URL("/assets/app.js", ingress).toString(), host)).body).toContain("console.log('cli')");
  expect((await getWithHost(new URL("/notes.txt", ingress).toString(), host)).status).toBe(404);
  expect((await getWithHost(new URL("/.git/config", ingress).toString(), host)).status).toBe(404);

  const history = await pagoda(["deploys", "handbook", "--json"]);
  expect(history, history.stderr).toMatchObject({ code: 0 });
  const [latest] = (JSON.parse(history.stdout) as { deploys: { id: string; message: string | null; source: string; createdBy: unknown }[] }).deploys;
  expect(latest).toMatchObject({ id: result.deploy.id, message: "First release from CI", source: "cli", createdBy: { kind: "token", name: "ci-pipeline" } });

  const sites = await pagoda(["sites"]);
  expect(sites, sites.stderr).toMatchObject({ code: 0 });
  expect(sites.stdout).toContain(`http://handbook-${tenant}.pagoda.localhost:${ingress.port}/`);

  await revokeToken(p, tenant, "ci-pipeline");
  const refused = await pagoda(["sites"]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("Error: This API token has been revoked.");
  expect(refused.stderr).toContain('Run "pagoda login"');
});

test("a folder with a symbolic link, or a zip with a path that escapes, is refused before uploading in the server's words", async () => {
  await p.goto(`/w/${tenant}`);
  await createSite(p, "guarded");
  const token = await createToken(p, tenant, "guard-check");
  const env = { PAGODA_TOKEN: token, PAGODA_URL: dashboardUrl };

  const linked = path.join(work, "linked");
  await mkdir(linked, { recursive: true });
  await writeFile(path.join(linked, "index.html"), "<h1>hi</h1>");
  await symlink("/etc/passwd", path.join(linked, "passwd"));
  const symlinkRun = await pagoda(["deploy", linked, "--site", "guarded"], { env });
  expect(symlinkRun.code).toBe(1);
  expect(symlinkRun.stderr).toContain('Error: The entry "passwd" is a symbolic link. Links are not allowed; replace it with the file it points to.');
  expect(symlinkRun.stderr).not.toContain("Uploading");

  // The same link inside a zip sent to the server directly: the server's answer is the CLI's sentence.
  const linkZip = await buildZip([
    { name: "index.html", data: "<h1>hi</h1>" },
    { name: "passwd", data: "/etc/passwd", mode: 0o120777 },
  ]);
  const server = await fetch(`${dashboardUrl}/api/tenants/${tenant}/sites/guarded/deploys`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/zip" },
    body: new Uint8Array(linkZip),
  });
  expect(server.status).toBe(422);
  const serverError = ((await server.json()) as { error: { message: string } }).error.message;
  expect(symlinkRun.stderr).toContain(`Error: ${serverError}\n`);

  // yazl will not write "..", so a same-length name is patched in, as a hostile tool would write it.
  const escaping = Buffer.from(
    (
      await buildZip([
        { name: "index.html", data: "<h1>hi</h1>" },
        { name: "zz/escape.html", data: "x" },
      ])
    )
      .toString("latin1")
      .replaceAll("zz/escape.html", "../escape.html"),
    "latin1",
  );
  const zipPath = path.join(work, "escaping.zip");
  await writeFile(zipPath, escaping);
  const escapeRun = await pagoda(["deploy", zipPath, "--site", "guarded"], { env });
  expect(escapeRun.code).toBe(1);
  expect(escapeRun.stderr).toContain('Error: The entry "../escape.html" uses ".." to point outside the site folder, which is not allowed.');
  expect(escapeRun.stderr).not.toContain("Uploading");

  const history = await pagoda(["deploys", "guarded", "--json"], { env });
  expect(history, history.stderr).toMatchObject({ code: 0 });
  expect((JSON.parse(history.stdout) as { deploys: unknown[] }).deploys).toEqual([]);
});
