/**
 * The deploy-failure notice, as plain text and HTML. Pure: unit-tested on
 * exactly what goes out. The reason is the operator's message, which can
 * quote what a deploy contained (a file name, a rule): the text part has it
 * as it is, the HTML part escapes it, and the subject carries only the site's
 * name, which the site-name rules keep to lower-case letters, digits and
 * dashes.
 */
import { escapeHtml, safeAddress, safeDisplayName, type OutgoingMessage, type Recipient } from "@/lib/mail/messages";

export interface DeployFailureFacts {
  site: string;
  workspace: string;
  reason: string;
  /** The site's page in the dashboard. */
  url: string;
  /** When the deploy was uploaded, and by what. */
  deployedAt: Date;
  via: string;
}

const REASON_MAX = 1_000;

export function deployFailedMessage(to: Recipient, facts: DeployFailureFacts): OutgoingMessage {
  const name = safeDisplayName(to.name);
  const recipient = { name, address: safeAddress(to.address) };
  const greeting = name ? `Hello ${name},` : "Hello,";
  // Control characters other than line breaks would be invisible in the mail and could hide text.
  const reason = facts.reason.replace(/[^\P{Cc}\n]/gu, " ").slice(0, REASON_MAX);
  const when = `${facts.deployedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const intro = `The deploy of the site ${facts.site} in the workspace ${facts.workspace} that you made on ${when} (${facts.via}) did not go live: the cluster reported its rollout as failed.`;
  const after = "The site keeps serving what it served before, if anything. Fix the cause and deploy again, or roll back to an earlier deploy.";
  const text = [greeting, "", intro, "", "Reason:", reason, "", `Open the site: ${facts.url}`, "", after, "", "— Pagoda"].join("\n");
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif; line-height: 1.5; color: #0f172a">',
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(intro)}</p>`,
    `<p><strong>Reason:</strong></p><pre style="white-space: pre-wrap; background: #f1f5f9; padding: 8px; border-radius: 6px">${escapeHtml(reason)}</pre>`,
    `<p><a href="${escapeHtml(facts.url)}" style="display: inline-block; padding: 8px 16px; background: #4f46e5; color: #fff; text-decoration: none; border-radius: 6px">Open the site</a></p>`,
    `<p style="font-size: 13px; color: #475569">If the button does not work, open this address: ${escapeHtml(facts.url)}</p>`,
    `<p style="font-size: 13px; color: #475569">${escapeHtml(after)}</p>`,
    "<p>— Pagoda</p>",
    "</body></html>",
  ].join("\n");
  return { to: recipient, subject: `Deploy of ${facts.site} failed`, text, html };
}
