import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, rmdir, utimes, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { expect, test, type Browser, type BrowserContext } from "@playwright/test";
import { dashboardNodeOptions } from "@/lib/node-options";
import { buildZip } from "@/lib/uploads/test-support";
import { findFreePort } from "@/scripts/lib/free-port";
import { createSite, csrfToken, signUp, uniqueEmail } from "./support";

/**
 * Upload limits over HTTP, against a dashboard of their own: the same build,
 * database and cluster as the rest of the suite, but with tight limits and
 * its temp dir on a 24 MiB tmpfs, so a nearly full volume is real.
 */
const MiB = 1024 * 1024;
const LIMITS = {
  PAGODA_UPLOADS_PER_TENANT: "2",
  PAGODA_UPLOADS_PER_PROCESS: "3",
  PAGODA_UPLOAD_IDLE_SECONDS: "2",
  PAGODA_UPLOAD_DEADLINE_SECONDS: "5",
  PAGODA_UPLOAD_DISK_RESERVE_BYTES: String(8 * MiB),
};

let work: string;
let tmp: string;
let dashboard: ChildProcess;
let baseURL: string;
let stderr = "";
/** The upload temp dirs found once the dashboard was up, before any test touched them. */
let afterStart: string[] = [];
const contexts: BrowserContext[] = [];

test.beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "pagoda-e2e-limits-"));
  tmp = path.join(work, "tmp");
  await mkdir(tmp);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", tmp]);
  // What a dashboard killed mid-upload leaves behind, and what a live one in another process is using.
  const stale = path.join(tmp, "pagoda-upload-Dead01");
  await mkdir(stale);
  await writeFile(path.join(stale, "upload.zip"), Buffer.alloc(1024));
  const hoursAgo = (Date.now() - 2 * 3600_000) / 1000;
  await utimes(path.join(stale, "upload.zip"), hoursAgo, hoursAgo);
  await utimes(stale, hoursAgo, hoursAgo);
  await mkdir(path.join(tmp, "pagoda-upload-Live01"));

  const port = await findFreePort();
  baseURL = `http://127.0.0.1:${port}`;
  dashboard = spawn("node_modules/.bin/next", ["start", "-p", String(port), "-H", "127.0.0.1"], {
    env: {
      ...process.env,
      ...LIMITS,
      TMPDIR: tmp,
      NODE_ENV: "production",
      NODE_OPTIONS: dashboardNodeOptions(process.env.NODE_OPTIONS),
      NEXTAUTH_URL: baseURL,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  dashboard.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await expect
    .poll(
      async () => {
        if (dashboard.exitCode !== null) throw new Error(`the dashboard exited with ${dashboard.exitCode}: ${stderr}`);
        return fetch(`${baseURL}/signin`).then(
          (response) => response.status,
          () => 0,
        );
      },
      { timeout: 60_000 },
    )
    .toBe(200);
  afterStart = await uploadDirs();
  // Whatever the sweep did, the tests below start from an empty temp dir.
  await rm(path.join(tmp, "pagoda-upload-Live01"), { recursive: true, force: true });
  await rm(path.join(tmp, "pagoda-upload-Dead01"), { recursive: true, force: true });
});

test.afterAll(async () => {
  for (const context of contexts.splice(0)) await context.close();
  if (dashboard && dashboard.exitCode === null) {
    await new Promise<void>((resolve) => {
      dashboard.once("exit", () => resolve());
      dashboard.kill("SIGTERM");
    });
  }
  execFileSync("umount", [tmp]);
  await rmdir(tmp);
  await rm(work, { recursive: true, force: true });
});

/** A signed-in user of the limits dashboard with a site called "limits". */
async function account(browser: Browser, label: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  const tenant = await signUp(page, label, uniqueEmail(label));
  await createSite(page, "limits");
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  const csrf = await csrfToken(context.request);
  // The site page holds a status stream open; the dashboard cannot shut down while one is.
  await page.close();
  contexts.push(context);
  return { context, tenant, cookie, csrf, deploysUrl: `/api/tenants/${tenant}/sites/limits/deploys` };
}

type Account = Awaited<ReturnType<typeof account>>;

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { error?: { code: string; message: string }; deploy?: { id: string } };
}

/**
 * An upload written by hand on a raw connection, so the test decides when
 * each byte goes: `first` at once, the rest only through write()/end().
 */
function upload(who: Account, declaredLength: number, first: Buffer) {
  const request = http.request(`${baseURL}${who.deploysUrl}`, {
    method: "POST",
    headers: { "content-type": "application/zip", "content-length": declaredLength, cookie: who.cookie, "x-csrf-token": who.csrf },
  });
  const closed = new Promise<void>((resolve) => request.on("close", () => resolve()));
  const answer = new Promise<Answer>((resolve, reject) => {
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode!, retryAfter: response.headers["retry-after"], body: JSON.parse(text) as Answer["body"] }),
      );
    });
    request.on("error", reject);
  });
  // A server that answers early may reset the connection while we still send; the answer is what counts.
  request.on("error", () => undefined);
  request.write(first);
  return { answer, closed, write: (bytes: Buffer) => request.write(bytes), end: (bytes?: Buffer) => request.end(bytes) };
}

const uploadDirs = async () => (await readdir(tmp)).filter((name) => name.startsWith("pagoda-upload-") || name.startsWith("pagoda-normalize-"));

async function deployCount(who: Account): Promise<number> {
  const response = await who.context.request.get(who.deploysUrl);
  return ((await response.json()) as { deploys: unknown[] }).deploys.length;
}

test("start-up removed the upload temp dir a dead process left, and kept the live one", async () => {
  expect(afterStart).toEqual(["pagoda-upload-Live01"]);
});

test("N+1 parallel uploads: the extra one gets 429 with Retry-After, the stalled ones are cut off with 408 and leave nothing", async ({ browser }) => {
  const [alice, bob, carol] = [await account(browser, "alice"), await account(browser, "bob"), await account(browser, "carol")];
  const zip = await buildZip([{ name: "index.html", data: "<h1>limits</h1>" }]);

  // Alice starts two uploads and then stops sending, holding both of her slots.
  const held = [upload(alice, zip.length, zip.subarray(0, 20)), upload(alice, zip.length, zip.subarray(0, 20))];
  await expect.poll(uploadDirs).toHaveLength(2);

  const third = upload(alice, zip.length, zip);
  third.end();
  const refused = await third.answer;
  expect(refused.status).toBe(429);
  expect(refused.retryAfter).toBe("10");
  expect(refused.body.error).toMatchObject({ code: "too_many_uploads" });
  expect(refused.body.error!.message).toContain("already has 2 uploads in progress");

  // Bob takes the process's last slot; Carol, who has none running, finds the server full.
  const bobs = upload(bob, zip.length, zip.subarray(0, 20));
  await expect.poll(uploadDirs).toHaveLength(3);
  const carols = upload(carol, zip.length, zip);
  carols.end();
  const busy = await carols.answer;
  expect(busy.status).toBe(429);
  expect(busy.retryAfter).toBe("10");
  expect(busy.body.error).toMatchObject({ code: "server_busy" });

  for (const stalled of [...held, bobs]) {
    const answer = await stalled.answer;
    expect(answer.status).toBe(408);
    expect(answer.body.error).toMatchObject({ code: "idle_timeout" });
    expect(answer.body.error!.message).toContain("no data arrived for 2 seconds");
    await stalled.closed;
  }
  expect(await uploadDirs()).toEqual([]);
  expect(await deployCount(alice)).toBe(0);
  expect(await deployCount(bob)).toBe(0);

  // Every slot is free again.
  const good = upload(alice, zip.length, zip);
  good.end();
  expect((await good.answer).status).toBe(201);
  expect(await deployCount(alice)).toBe(1);
  expect(await uploadDirs()).toEqual([]);
});

test("a client that trickles bytes is cut off at the deadline with 408, and leaves no temp file", async ({ browser }) => {
  const dave = await account(browser, "dave");
  const zip = await buildZip([{ name: "index.html", data: "<h1>slow</h1>" }]);
  const slow = upload(dave, zip.length, zip.subarray(0, 1));
  let sent = 1;
  // A byte every half second never trips the 2 s idle timeout; only the 5 s deadline stops it.
  const trickle = setInterval(() => {
    if (sent < zip.length - 1) slow.write(zip.subarray(sent, ++sent));
  }, 500);
  try {
    const answer = await slow.answer;
    expect(answer.status).toBe(408);
    expect(answer.body.error).toMatchObject({ code: "upload_too_slow" });
    expect(answer.body.error!.message).toContain("longer than the 5 seconds allowed");
    expect(sent).toBeGreaterThan(3);
    await slow.closed;
  } finally {
    clearInterval(trickle);
  }
  expect(await uploadDirs()).toEqual([]);
  expect(await deployCount(dave)).toBe(0);
});

test("a nearly full temp volume refuses an upload that would not fit with 507, before storing a byte", async ({ browser }) => {
  const erin = await account(browser, "erin");
  // 10 MiB declared: the zip and its archive need 20 MiB of the 24, which would leave less than the 8 MiB reserve.
  const big = upload(erin, 10 * MiB, Buffer.alloc(64 * 1024));
  const answer = await big.answer;
  expect(answer.status).toBe(507);
  expect(answer.body.error).toMatchObject({ code: "insufficient_storage" });
  expect(answer.body.error!.message).toContain("running out of disk space");
  expect(await readdir(tmp)).toEqual([]);
  expect(await deployCount(erin)).toBe(0);

  const zip = await buildZip([{ name: "index.html", data: "<h1>fits</h1>" }]);
  const small = upload(erin, zip.length, zip);
  small.end();
  expect((await small.answer).status).toBe(201);
  expect(await readdir(tmp)).toEqual([]);
});
