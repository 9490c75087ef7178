import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { followRollouts, type RolloutFollower } from "@/lib/publishing/follow-rollouts";
import { deployChanges } from "@/lib/publishing/deploy-events";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig, StatusHub } from "@/lib/publishing";
import { applyStatusAsOperator, eventually, readStaticSite } from "@/lib/publishing/int-test-support";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";

/**
 * Deploy states follow events, not a clock: the periodic pass is set to an
 * hour here, so every transition below can only come from the status watch
 * or from the database's notifications. The tests write status the way the
 * operator does, and write rows the way another dashboard replica would.
 */
let artifactRoot: string;
let actor: TenantActor;
let siteId: string;
let hub: StatusHub;
let follower: RolloutFollower;
let sql: pg.Client;

beforeAll(async () => {
  process.env.KUBECONFIG = sharedCluster().kubeconfigPath;
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  hub = new StatusHub(dashboardKubeConfig());
  hub.start();
  await hub.whenSynced();
  ({ actor } = await newAccount("follow"));
  siteId = (await createSite(actor, { name: "blog" }, null)).id;
  follower = followRollouts(hub, { connectionString: process.env.DATABASE_URL!, sweepEveryMs: 3_600_000, feedBackoffBaseMs: 1_000 });
  await eventually("the deploy change feed to listen", () => (follower.feedListening() ? true : undefined));
  sql = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await follower?.stop();
  await hub?.stop();
  await rm(artifactRoot, { recursive: true, force: true });
});

async function upload(html: string) {
  const zip = await buildZip([{ name: "index.html", data: `<h1>${html}</h1>` }]);
  return uploadDeploy(actor, "blog", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
}

/** Resolves on the next "deploy history changed" signal for the site. */
function nextChange(id: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      deployChanges.off("changed", listener);
      reject(new Error(`no deploy change signalled for ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (changed: string) => {
      if (changed !== id) return;
      clearTimeout(timer);
      deployChanges.off("changed", listener);
      resolve();
    };
    deployChanges.on("changed", listener);
  });
}

const stateOf = async (id: string) => (await db().deploy.findUniqueOrThrow({ where: { id } })).state;

/**
 * What another dashboard replica writes when someone uploads there: a new
 * deploy, promoted to be the site's target. Nothing in the cluster changes,
 * so only the database can tell this process.
 */
let uploadsElsewhere = 0;
async function uploadElsewhere(): Promise<void> {
  uploadsElsewhere += 1;
  const id = `elsewhere-${uploadsElsewhere}-${Date.now()}`;
  await sql.query("BEGIN");
  await sql.query(`INSERT INTO "Deploy" (id, "siteId", digest, state) VALUES ($1, $2, $3, 'ready')`, [
    id,
    siteId,
    `sha256:${String(uploadsElsewhere).repeat(64).slice(0, 64)}`,
  ]);
  await sql.query(`UPDATE "Site" SET "targetDeployId" = $1 WHERE id = $2`, [id, siteId]);
  await sql.query("COMMIT");
}

describe("following rollouts by events", () => {
  it("marks a deploy live as soon as the cluster reports its rollout", async () => {
    const deploy = await upload("one");
    const ss = await eventually("the StaticSite", async () => (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "blog")) ?? undefined);
    await follower.idle();
    expect(await stateOf(deploy.id)).toBe("ready");

    const live = nextChange(siteId);
    await applyStatusAsOperator(dashboardKubeConfig(), ss, {
      observedGeneration: ss.metadata.generation ?? 1,
      currentDigest: deploy.digest!,
      replicas: 1,
      readyReplicas: 1,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Available",
          message: "All replicas serve the current deploy.",
          lastTransitionTime: new Date().toISOString(),
          observedGeneration: ss.metadata.generation ?? 1,
        },
      ],
    });
    await eventually("the deploy to be live", async () => ((await stateOf(deploy.id)) === "live" ? true : undefined));
    await live;
  });

  it("tells the browsers of a deploy change another replica made", async () => {
    const changed = nextChange(siteId);
    await uploadElsewhere();
    await changed;
  });

  it("catches up on what changed while its database connection was cut", async () => {
    const { rows } = await sql.query<{ cut: boolean }>(
      "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = 'pagoda-deploy-changes' AND datname = current_database()",
    );
    expect(rows.map((r) => r.cut)).toContain(true);
    await eventually("the feed to notice", () => (follower.feedListening() ? undefined : true));
    // Written while nobody listens: only the pass after reconnecting can see it.
    const changed = nextChange(siteId);
    await uploadElsewhere();
    await changed;
    expect(follower.feedListening()).toBe(true);
  });
});
