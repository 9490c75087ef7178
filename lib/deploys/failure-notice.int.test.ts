/**
 * The deploy-failure notice on real parts: a StaticSite status written as the
 * operator writes it (Degraded), the rollout tracker's own pass, Postgres
 * for the rate limit and the audit, and the run's Mailpit for what arrives.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createApiToken } from "@/lib/auth/api-tokens";
import { db } from "@/lib/db";
import { FAILURE_NOTICE_ACTION, startDeployFailureNotices } from "@/lib/deploys/failure-notice";
import { promoteDeploy } from "@/lib/deploys/promote";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig, StatusHub } from "@/lib/publishing";
import { deployFailures, type DeployFailure } from "@/lib/publishing/deploy-events";
import { applyStatusAsOperator, eventually, readStaticSite } from "@/lib/publishing/int-test-support";
import { trackRollouts } from "@/lib/publishing/rollout-tracker";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";
import { messagesTo, waitForMessage } from "@/tests/support/mailpit";

const mailpit = inject("mailpitUrl");
let artifactRoot: string;
let hub: StatusHub;
let owner: TenantActor;
let ownerEmail: string;
let ownerId: string;
/** Every failure the tracker announced, in order. */
const announced: DeployFailure[] = [];

beforeAll(async () => {
  process.env.KUBECONFIG = sharedCluster().kubeconfigPath;
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  hub = new StatusHub(dashboardKubeConfig());
  hub.start();
  await hub.whenSynced();
  startDeployFailureNotices();
  deployFailures.on("failed", (failure) => announced.push(failure));
  ({ actor: owner, email: ownerEmail, userId: ownerId } = await newAccount("notice-owner"));
});

afterAll(async () => {
  await hub?.stop();
  await rm(artifactRoot, { recursive: true, force: true });
});

async function upload(actor: TenantActor, site: string, html: string) {
  const zip = await buildZip([{ name: "index.html", data: `<h1>${html}</h1>` }]);
  return uploadDeploy(actor, site, { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
}

/** Reports the rollout of `digest` on `site` as Degraded, as the operator does, then runs the tracker's pass for the site. */
async function failRollout(actor: TenantActor, site: string, digest: string, message: string): Promise<void> {
  const ss = await eventually(`the StaticSite of ${site} to ask for ${digest}`, async () => {
    const found = await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, site);
    return found?.spec.artifact.digest === digest ? found : undefined;
  });
  const generation = ss.metadata.generation ?? 1;
  const seen = new Promise<void>((resolve) => {
    const stop = hub.subscribe(tenantNamespace(actor.tenantSlug), site, (current) => {
      if (!current?.status?.conditions?.some((c) => c.type === "Degraded" && c.message === message)) return;
      stop();
      resolve();
    });
  });
  await applyStatusAsOperator(dashboardKubeConfig(), ss, {
    observedGeneration: generation,
    replicas: 1,
    readyReplicas: 0,
    conditions: [
      { type: "Ready", status: "False", reason: "RolloutFailed", message, lastTransitionTime: new Date().toISOString(), observedGeneration: generation },
      { type: "Degraded", status: "True", reason: "RolloutFailed", message, lastTransitionTime: new Date().toISOString(), observedGeneration: generation },
    ],
  });
  await seen;
  await trackRollouts(hub, [{ tenantSlug: actor.tenantSlug, name: site }]);
}

const noticesOf = (tenantId: string, site: string) =>
  db().auditEvent.findMany({ where: { tenantId, action: FAILURE_NOTICE_ACTION, target: site }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });

/** Waits for the `count`th notice event of a site: the notice runs beside the tracker, so its record is the thing to await. */
const nthNotice = (tenantId: string, site: string, count: number) =>
  eventually(`notice event ${count} of ${site}`, async () => {
    const rows = await noticesOf(tenantId, site);
    return rows.length >= count ? rows[count - 1] : undefined;
  });

describe("the deploy-failure notice", () => {
  let deployId: string;

  it("mails the person who deployed, with the site, the reason and a link, in text and HTML", async () => {
    await createSite(owner, { name: "blog" }, null);
    const deploy = await upload(owner, "blog", "one");
    deployId = deploy.id;
    const reason = `Image pull failed for <script>alert("x")</script> & more`;
    await failRollout(owner, "blog", deploy.digest!, reason);
    expect((await db().deploy.findUniqueOrThrow({ where: { id: deploy.id } })).state).toBe("failed");
    expect(announced.filter((a) => a.deployId === deploy.id)).toHaveLength(1);

    const mail = await waitForMessage(mailpit, ownerEmail);
    expect(mail.Subject).toBe("Deploy of blog failed");
    expect(mail.Text).toContain(reason);
    expect(mail.Text).toContain(`http://localhost:3000/w/${owner.tenantSlug}/sites/blog`);
    expect(mail.Text).toContain("in the dashboard");
    expect(mail.HTML).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more");
    expect(mail.HTML).not.toContain("<script>");
    expect(await nthNotice(owner.tenantId, "blog", 1)).toMatchObject({ outcome: "success", details: { deployId: deploy.id, recipient: ownerId } });
  });

  it("says nothing more when the failed deploy's reason changes: only the change into failed is news", async () => {
    await failRollout(owner, "blog", (await db().deploy.findUniqueOrThrow({ where: { id: deployId } })).digest!, "Still failing, differently");
    expect((await db().deploy.findUniqueOrThrow({ where: { id: deployId } })).error).toBe("Still failing, differently");
    expect(announced.filter((a) => a.deployId === deployId)).toHaveLength(1);
  });

  it("is rate-limited per site: a second failure minutes later is audited, not mailed", async () => {
    const again = await promoteDeploy(owner, "blog", deployId, null);
    expect(again.state).toBe("ready");
    await failRollout(owner, "blog", again.digest!, "Failed again");
    expect(announced.filter((a) => a.deployId === deployId)).toHaveLength(2);
    expect(await nthNotice(owner.tenantId, "blog", 2)).toMatchObject({ outcome: "failure", details: { deployId, reason: "rate_limited" } });
    expect(await messagesTo(mailpit, ownerEmail)).toHaveLength(1);
  });

  it("tells the owner who created the token of a token's deploy", async () => {
    await createSite(owner, { name: "from-ci" }, null);
    const { view } = await createApiToken(owner, { name: "ci-pipeline", scopes: ["deploy"] }, null);
    const tokenActor: TenantActor = {
      userId: null,
      tenantId: owner.tenantId,
      tenantSlug: owner.tenantSlug,
      role: "member",
      token: { id: view.id, publicId: view.hint, name: view.name, scopes: ["deploy"], client: "cli" },
    };
    const deploy = await upload(tokenActor, "from-ci", "ci");
    await failRollout(owner, "from-ci", deploy.digest!, "Readiness probe failed");
    const mail = await waitForMessage(mailpit, ownerEmail, { count: 2 });
    expect(mail.Subject).toBe("Deploy of from-ci failed");
    expect(mail.Text).toContain("with the API token ci-pipeline");
  });

  it("does not mail someone who has left the workspace, and a send that fails is audited while the deploy path goes on", async () => {
    const { actor: bob, userId: bobId, email: bobEmail } = await newAccount("notice-leaver");
    await db().membership.create({ data: { userId: bobId, tenantId: owner.tenantId, role: "member" } });
    const bobHere: TenantActor = { ...owner, userId: bobId, role: "member" };
    await createSite(owner, { name: "left" }, null);
    const leftDeploy = await upload(bobHere, "left", "left");
    await db().membership.deleteMany({ where: { userId: bobId, tenantId: owner.tenantId } });
    await failRollout(owner, "left", leftDeploy.digest!, "Crash loop");
    expect(await nthNotice(owner.tenantId, "left", 1)).toMatchObject({ outcome: "failure", details: { reason: "no_recipient" } });
    expect(await messagesTo(mailpit, bobEmail)).toHaveLength(0);
    expect(bob.tenantId).not.toBe(owner.tenantId);

    // An address no SMTP server should be given: the message is refused before sending.
    const { userId: carolId } = await newAccount("notice-broken");
    await db().membership.create({ data: { userId: carolId, tenantId: owner.tenantId, role: "member" } });
    await createSite(owner, { name: "broken" }, null);
    const brokenDeploy = await upload({ ...owner, userId: carolId, role: "member" }, "broken", "broken");
    await db().user.update({ where: { id: carolId }, data: { email: "carol\r\nBcc: everyone@example.com" } });
    await failRollout(owner, "broken", brokenDeploy.digest!, "Out of memory");
    expect((await db().deploy.findUniqueOrThrow({ where: { id: brokenDeploy.id } })).state).toBe("failed");
    expect(await nthNotice(owner.tenantId, "broken", 1)).toMatchObject({ outcome: "failure", details: { reason: "error" } });
  });
});
