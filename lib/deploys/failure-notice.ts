import "server-only";
import { recordAudit } from "@/lib/audit";
import { consumeAttempt, RateLimitedError } from "@/lib/auth/rate-limit";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { componentLogger } from "@/lib/log";
import { mailEnabled, sendMail } from "@/lib/mail/transport";
import { processSingleton } from "@/lib/process-singleton";
import { deployFailures, type DeployFailure } from "@/lib/publishing/deploy-events";
import { deployFailedMessage } from "@/lib/deploys/failure-notice-message";

const log = componentLogger("deploy-failure-notice");

export const FAILURE_NOTICE_ACTION = "deploy.failure_notice";

/** What became of one failure: mailed, or why not. */
export type NoticeOutcome = "sent" | "mail_disabled" | "no_recipient" | "rate_limited" | "mail_unavailable" | "error";

/**
 * Mails the person who made a deploy that failed to roll out (for a token's
 * deploy, the owner who created the token), at most once per site per
 * DEPLOY_FAILURE_NOTICE_WINDOW_SECONDS (shared by every dashboard process
 * through Postgres, so two replicas that both saw the failure send one).
 * Someone who has left the workspace since is not told. Never throws: it
 * runs beside the deploy path, which has already stored the failure; what
 * goes wrong here is logged and audited.
 */
export async function noticeDeployFailure(failure: DeployFailure): Promise<NoticeOutcome> {
  let context: { tenantId: string; site: string } | null = null;
  const audit = (outcome: "success" | "failure", details: Record<string, string | null>) =>
    recordAudit({
      action: FAILURE_NOTICE_ACTION,
      outcome,
      tenantId: context?.tenantId,
      target: context?.site,
      details: { deployId: failure.deployId, ...details },
    });
  try {
    if (!mailEnabled()) {
      log.info({ ...failure }, "no deploy-failure notice: mail is not configured");
      return "mail_disabled";
    }
    const deploy = await db().deploy.findUnique({
      where: { id: failure.deployId },
      select: {
        createdAt: true,
        source: true,
        tokenName: true,
        createdBy: { select: { id: true, name: true, email: true } },
        token: { select: { createdBy: { select: { id: true, name: true, email: true } } } },
        site: { select: { id: true, name: true, tenant: { select: { id: true, slug: true, name: true } } } },
      },
    });
    if (!deploy) {
      log.info({ ...failure }, "no deploy-failure notice: the deploy is gone");
      return "no_recipient";
    }
    const { site } = deploy;
    context = { tenantId: site.tenant.id, site: site.name };
    const person = deploy.createdBy ?? deploy.token?.createdBy ?? null;
    const member = person
      ? await db().membership.findUnique({ where: { userId_tenantId: { userId: person.id, tenantId: site.tenant.id } }, select: { id: true } })
      : null;
    if (!person || !member) {
      log.info({ ...failure, tenantId: site.tenant.id }, "no deploy-failure notice: nobody in the workspace made this deploy");
      await audit("failure", { reason: "no_recipient" });
      return "no_recipient";
    }
    try {
      await consumeAttempt({ deployFailureNoticeSite: site.id });
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      log.info(
        { ...failure, tenantId: site.tenant.id, retryAfterSeconds: error.retryAfterSeconds },
        "no deploy-failure notice: one was sent for this site a moment ago",
      );
      await audit("failure", { reason: "rate_limited", recipient: person.id });
      return "rate_limited";
    }
    const url = new URL(`/w/${site.tenant.slug}/sites/${site.name}`, getConfig().NEXTAUTH_URL).toString();
    const via = deploy.tokenName
      ? `with the API token ${deploy.tokenName}`
      : deploy.source === "browser"
        ? "in the dashboard"
        : `with the ${deploy.source.toUpperCase()}`;
    const message = deployFailedMessage(
      { name: person.name, address: person.email },
      { site: site.name, workspace: site.tenant.name, reason: failure.reason, url, deployedAt: deploy.createdAt, via },
    );
    try {
      await sendMail(message, { purpose: "deploy_failure", userId: person.id });
    } catch (error) {
      // sendMail has logged the SMTP error with the recipient.
      await audit("failure", { reason: "mail_unavailable", recipient: person.id, error: error instanceof Error ? error.message : String(error) });
      return "mail_unavailable";
    }
    await audit("success", { recipient: person.id, reason: failure.reason });
    return "sent";
  } catch (error) {
    log.error({ err: error, ...failure }, "the deploy-failure notice could not be handled");
    await audit("failure", { reason: "error" });
    return "error";
  }
}

/** Listens for failed deploys in this process (once), each notice on its own, after the tracker's write. */
export function startDeployFailureNotices(): void {
  processSingleton("deployFailureNotices", () => {
    deployFailures.on("failed", (failure) => void noticeDeployFailure(failure));
    return true;
  });
}
