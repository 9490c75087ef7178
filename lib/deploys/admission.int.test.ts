import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { UploadAdmission, slotKey, uploadDeployWithinLimits, type UploadPass } from "@/lib/deploys/admission";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { UploadLimitError } from "@/lib/uploads/limit-error";
import { DEFAULT_ADMISSION_LIMITS, type UploadAdmissionLimits } from "@/lib/uploads/limits";
import { buildZip, noise } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";

const MiB = 1024 * 1024;
const databaseUrl = () => process.env.DATABASE_URL!;

let artifactRoot: string;
let tmpRoot: string;
const admissions: UploadAdmission[] = [];
const passes: UploadPass[] = [];
const originalTmp = process.env.TMPDIR;

beforeAll(async () => {
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  // Every temp file of the pipeline goes to os.tmpdir(): point it at a directory of our own to count what is left.
  tmpRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-test-admission-"));
  process.env.TMPDIR = path.join(tmpRoot, "tmp");
  await mkdir(process.env.TMPDIR);
});

afterEach(async () => {
  for (const pass of passes.splice(0)) await pass.release();
  for (const admission of admissions.splice(0)) await admission.close();
});

afterAll(async () => {
  process.env.TMPDIR = originalTmp;
  if (originalTmp === undefined) delete process.env.TMPDIR;
  await rm(artifactRoot, { recursive: true, force: true });
  await rm(tmpRoot, { recursive: true, force: true });
});

/** One admission is one dashboard process: its own in-memory count and its own Postgres sessions. */
function processWith(limits: Partial<UploadAdmissionLimits> = {}): UploadAdmission {
  const admission = new UploadAdmission({ limits: { ...DEFAULT_ADMISSION_LIMITS, ...limits }, databaseUrl: databaseUrl(), artifactDir: artifactRoot });
  admissions.push(admission);
  return admission;
}

async function admit(admission: UploadAdmission, tenantId: string, bytes = MiB): Promise<UploadPass> {
  const pass = await admission.admit(tenantId, bytes);
  passes.push(pass);
  return pass;
}

async function refusal(promise: Promise<unknown>): Promise<UploadLimitError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UploadLimitError);
  return error as UploadLimitError;
}

async function heldAdvisoryLocks(): Promise<number> {
  const client = new Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted");
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

const tempLeft = async () => readdir(process.env.TMPDIR!);

describe("tenant slots, shared by every dashboard process through Postgres", () => {
  it("lets a tenant run two uploads across two processes and refuses the third with 429 and Retry-After", async () => {
    const [{ actor }, { actor: other }] = await Promise.all([newAccount("slots"), newAccount("slots-other")]);
    const a = processWith({ perTenant: 2 });
    const b = processWith({ perTenant: 2 });
    const first = await admit(a, actor.tenantId);
    await admit(b, actor.tenantId);

    const third = await refusal(a.admit(actor.tenantId, MiB));
    expect(third).toMatchObject({ status: 429, code: "too_many_uploads", retryAfterSeconds: 10 });
    expect(third.message).toContain("already has 2 uploads in progress");
    expect((await refusal(b.admit(actor.tenantId, MiB))).code).toBe("too_many_uploads");
    // The refusal took nothing: the process count is back where it was.
    expect(a.inProgress).toBe(1);

    // Another tenant is not affected, and a finished upload frees its slot.
    await admit(a, other.tenantId);
    await first.release();
    await admit(b, actor.tenantId);
  });

  it("frees a slot when the process holding it dies (its Postgres session ends)", async () => {
    const { actor } = await newAccount("crash");
    const doomed = processWith({ perTenant: 1 });
    const survivor = processWith({ perTenant: 1 });
    await admit(doomed, actor.tenantId);
    expect((await refusal(survivor.admit(actor.tenantId, MiB))).code).toBe("too_many_uploads");

    // What a killed process leaves: its connection gone. Postgres drops its locks with it.
    const key = slotKey(actor.tenantId, 0);
    const killer = new Client({ connectionString: databaseUrl() });
    await killer.connect();
    const { rows } = await killer.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1::bigint",
      [key],
    );
    expect(rows).toHaveLength(1);
    await killer.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
    await killer.end();

    const tryAdmit = async () => {
      try {
        passes.push(await survivor.admit(actor.tenantId, MiB));
        return "admitted";
      } catch (error) {
        return String(error);
      }
    };
    await expect.poll(tryAdmit).toBe("admitted");
  });
});

describe("the per-process limit", () => {
  it("refuses past it with 429 server_busy whatever the tenant, without touching Postgres", async () => {
    const tenants = await Promise.all([newAccount("proc-a"), newAccount("proc-b"), newAccount("proc-c")]);
    const proc = processWith({ perProcess: 2, perTenant: 5 });
    await admit(proc, tenants[0].actor.tenantId);
    await admit(proc, tenants[1].actor.tenantId);
    const locksBefore = await heldAdvisoryLocks();
    const busy = await refusal(proc.admit(tenants[2].actor.tenantId, MiB));
    expect(busy).toMatchObject({ status: 429, code: "server_busy", retryAfterSeconds: 10 });
    expect(busy.message).toContain("busy with other uploads");
    expect(await heldAdvisoryLocks()).toBe(locksBefore);
  });
});

/** A request body that sends `first` bytes, then nothing until `finish()` (or ever). */
function stallingBody(first: Buffer) {
  let started!: () => void;
  const reading = new Promise<void>((resolve) => (started = resolve));
  const state = { pulls: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulls += 1;
        if (state.pulls === 1) {
          controller.enqueue(new Uint8Array(first));
          started();
          return;
        }
        return new Promise<void>(() => undefined);
      },
      cancel() {
        state.cancelled = true;
      },
      // No read-ahead: pull runs only when the server reads, so `pulls` counts what it asked for.
    },
    { highWaterMark: 0 },
  );
  return { stream, reading, state };
}

async function siteFor(label: string): Promise<TenantActor> {
  const { actor } = await newAccount(label);
  await createSite(actor, { name: "limits" }, null);
  return actor;
}

const deploysOf = (actor: TenantActor) => db().deploy.count({ where: { site: { tenantId: actor.tenantId } } });

describe("uploads through the limits, on the real pipeline", () => {
  it("refuses the tenant's third upload before reading its body, and cuts the stalled two off after the idle timeout", async () => {
    const actor = await siteFor("nplus1");
    const proc = processWith({ perTenant: 2, idleTimeoutMs: 1500 });
    const zip = await buildZip([{ name: "index.html", data: "<h1>x</h1>" }]);
    const held = [stallingBody(zip.subarray(0, 10)), stallingBody(zip.subarray(0, 10))];
    const running = held.map(({ stream }) =>
      uploadDeployWithinLimits(actor, "limits", { body: stream, declaredLength: zip.length, ip: "127.0.0.1" }, proc).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    await Promise.all(held.map((h) => h.reading));

    const extra = stallingBody(zip);
    const refused = await refusal(uploadDeployWithinLimits(actor, "limits", { body: extra.stream, declaredLength: zip.length, ip: "127.0.0.1" }, proc));
    expect(refused).toMatchObject({ status: 429, code: "too_many_uploads" });
    expect(extra.state.pulls).toBe(0);

    const [one, two] = await Promise.all(running);
    for (const error of [one, two]) {
      expect(error).toBeInstanceOf(UploadLimitError);
      expect(error).toMatchObject({ status: 408, code: "idle_timeout" });
    }
    expect(held.every((h) => h.state.cancelled)).toBe(true);
    expect(await tempLeft()).toEqual([]);
    expect(await deploysOf(actor)).toBe(0);
    expect(proc.inProgress).toBe(0);
    // The slots are free again: a good upload goes through.
    const ok = await uploadDeployWithinLimits(actor, "limits", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null }, proc);
    expect(ok.state).toBe("ready");
  });
});

describe("disk space, on a real small volume", () => {
  let mount: string;
  beforeAll(async () => {
    mount = path.join(tmpRoot, "small");
    await mkdir(mount);
    // A 24 MiB tmpfs stands in for a nearly full temp volume (needs root, as the suite does for its node).
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mount]);
  });
  afterAll(async () => {
    execFileSync("umount", [mount]);
    await rmdir(mount);
  });

  it("refuses with 507 when the upload would eat into the reserve, before storing anything, and takes one that fits", async () => {
    const actor = await siteFor("full");
    process.env.TMPDIR = mount;
    try {
      const proc = processWith({ diskReserveBytes: 8 * MiB });
      const big = stallingBody(Buffer.alloc(10));
      // 10 MiB declared: the zip and its archive need 20 MiB of the 24, leaving less than the 8 MiB reserve.
      const refused = await refusal(uploadDeployWithinLimits(actor, "limits", { body: big.stream, declaredLength: 10 * MiB, ip: null }, proc));
      expect(refused).toMatchObject({ status: 507, code: "insufficient_storage" });
      expect(refused.message).toContain("running out of disk space");
      expect(big.state.pulls).toBe(0);
      expect(await readdir(mount)).toEqual([]);
      expect(await deploysOf(actor)).toBe(0);
      expect(proc.inProgress).toBe(0);

      const zip = await buildZip([{ name: "index.html", data: "<h1>small</h1>" }]);
      const ok = await uploadDeployWithinLimits(
        actor,
        "limits",
        { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null },
        proc,
      );
      expect(ok.state).toBe("ready");
      expect(await readdir(mount)).toEqual([]);
    } finally {
      process.env.TMPDIR = path.join(tmpRoot, "tmp");
    }
  });

  it("answers 507, not 500, when the volume fills up during the upload, and leaves no temp file", async () => {
    const actor = await siteFor("filling");
    process.env.TMPDIR = mount;
    try {
      const proc = processWith({ diskReserveBytes: 0 });
      const chunk = noise(256 * 1024, 7);
      let fill!: () => Promise<void>;
      const filled = new Promise<void>((resolve) => {
        fill = async () => {
          // Someone else takes the rest of the volume while our upload is under way.
          await writeFile(path.join(mount, "other-tenant-filler"), Buffer.alloc(24 * MiB)).catch((e: unknown) => {
            if ((e as { code?: string }).code !== "ENOSPC") throw e;
          });
          resolve();
        };
      });
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === 1) await fill();
          sent += 1;
          controller.enqueue(new Uint8Array(chunk));
        },
      });
      const refused = await refusal(uploadDeployWithinLimits(actor, "limits", { body, declaredLength: 8 * MiB, ip: null }, proc));
      await filled;
      expect(refused).toMatchObject({ status: 507, code: "insufficient_storage" });
      expect(await readdir(mount)).toEqual(["other-tenant-filler"]);
      expect(await deploysOf(actor)).toBe(0);
    } finally {
      await rm(path.join(mount, "other-tenant-filler"), { force: true });
      process.env.TMPDIR = path.join(tmpRoot, "tmp");
    }
  });
});
