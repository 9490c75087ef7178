import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { followRollouts, type RolloutFollower } from "@/lib/publishing/follow-rollouts";
import { statusMayAdvance, trackRollouts } from "@/lib/publishing/rollout-tracker";
import { deployChanges } from "@/lib/publishing/deploy-events";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig, StatusHub } from "@/lib/publishing";
import { applyStatusAsOperator, eventually, readStaticSite } from "@/lib/publishing/int-test-support";
import { createSite } from "@/lib/sites/sites";
import type { StaticSite, StaticSiteStatus } from "@/lib/staticsite/types";
import { tenantNamespace } from "@/lib/tenancy/slug";
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
/** The blog's deploy the first test made live. */
let siteLiveDeploy: string | undefined;

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

async function upload(html: string, site = "blog") {
  const zip = await buildZip([{ name: "index.html", data: `<h1>${html}</h1>` }]);
  return uploadDeploy(actor, site, { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
}

/** The StaticSite of `site` once it asks for `digest`. */
const staticSiteFor = (site: string, digest: string) =>
  eventually(`the StaticSite of ${site} to ask for ${digest}`, async () => {
    const ss = await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, site);
    return ss?.spec.artifact.digest === digest ? ss : undefined;
  });

/** What the operator reports mid-rollout (`ready` of two replicas serve `digest`), or once it is done. */
function rolloutStatus(ss: StaticSite, digest: string, ready: number): StaticSiteStatus {
  const generation = ss.metadata.generation ?? 1;
  const done = ready === 2;
  return {
    observedGeneration: generation,
    currentDigest: digest,
    replicas: 2,
    readyReplicas: ready,
    conditions: [
      {
        type: done ? "Ready" : "Progressing",
        status: "True",
        reason: done ? "Available" : "RollingOut",
        message: done ? "All replicas serve the current deploy." : `${ready} of 2 replicas serve the current deploy.`,
        lastTransitionTime: new Date().toISOString(),
        observedGeneration: generation,
      },
    ],
  };
}

/** Writes a status as the operator does and resolves once the status hub has it. */
async function report(ss: StaticSite, status: StaticSiteStatus): Promise<void> {
  const seen = new Promise<void>((resolve) => {
    const stop = hub.subscribe(tenantNamespace(actor.tenantSlug), ss.metadata.name, (site) => {
      if (site?.status?.readyReplicas !== status.readyReplicas || site?.status?.currentDigest !== status.currentDigest) return;
      stop();
      resolve();
    });
  });
  await applyStatusAsOperator(dashboardKubeConfig(), ss, status);
  await seen;
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
    siteLiveDeploy = deploy.id;
  });

  it("judges a rollout's progress reports as needing no query, and only the one that completes it as needing one", async () => {
    await createSite(actor, { name: "notes" }, null);
    const deploy = await upload("notes", "notes");
    const ss = await staticSiteFor("notes", deploy.digest!);
    // However the follower's own passes went, one more makes sure the tracker has read the new target.
    await trackRollouts(hub, [{ tenantSlug: actor.tenantSlug, name: "notes" }]);
    await follower.idle();
    for (const ready of [0, 1]) {
      await report(ss, rolloutStatus(ss, deploy.digest!, ready));
      expect(statusMayAdvance(hub, actor.tenantSlug, "notes"), `${ready} of 2 ready`).toBe(false);
    }
    await report(ss, rolloutStatus(ss, deploy.digest!, 2));
    expect(statusMayAdvance(hub, actor.tenantSlug, "notes")).toBe(true);
    await eventually("the deploy to be live", async () => ((await stateOf(deploy.id)) === "live" ? true : undefined));
    await follower.idle();
    // Live and stored as live: a repeat of the same report needs nothing either.
    expect(statusMayAdvance(hub, actor.tenantSlug, "notes")).toBe(false);
  });

  it("marks every site that finished its rollout live, each superseding only its own previous deploy", async () => {
    const names = ["north", "south"];
    const first = new Map<string, string>();
    for (const name of names) {
      await createSite(actor, { name }, null);
      const deploy = await upload(`${name} one`, name);
      first.set(name, deploy.id);
      const ss = await staticSiteFor(name, deploy.digest!);
      await report(ss, rolloutStatus(ss, deploy.digest!, 2));
      await eventually(`${name}'s first deploy to be live`, async () => ((await stateOf(deploy.id)) === "live" ? true : undefined));
    }
    const second = new Map<string, { id: string; ss: StaticSite; digest: string }>();
    for (const name of names) {
      const deploy = await upload(`${name} two`, name);
      second.set(name, { id: deploy.id, digest: deploy.digest!, ss: await staticSiteFor(name, deploy.digest!) });
    }
    await follower.idle();
    // Both finish at once, as in a burst: the follower's gap puts them into one pass.
    await Promise.all(names.map((name) => report(second.get(name)!.ss, rolloutStatus(second.get(name)!.ss, second.get(name)!.digest, 2))));
    for (const name of names) {
      await eventually(`${name}'s second deploy to be live`, async () => ((await stateOf(second.get(name)!.id)) === "live" ? true : undefined));
      expect(await stateOf(first.get(name)!)).toBe("superseded");
    }
    // The first site's deploys are untouched by the others' rollouts.
    expect(await stateOf(siteLiveDeploy!)).toBe("live");
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
