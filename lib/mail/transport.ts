import "server-only";
import nodemailer, { type Transporter } from "nodemailer";
import { getConfig } from "@/lib/config";
import { UnavailableError } from "@/lib/errors";
import { componentLogger } from "@/lib/log";
import { processSingleton } from "@/lib/process-singleton";
import type { OutgoingMessage } from "@/lib/mail/messages";

const log = componentLogger("mail");

/** The SMTP server refused the message or could not be reached; nothing was sent. */
export class MailUnavailableError extends UnavailableError {
  constructor(message = "We could not send the email just now. Try again in a few minutes.") {
    super("mail_unavailable", message);
  }
}

/** This server has no PAGODA_SMTP_URL: nothing that needs an email can be done. */
export class MailDisabledError extends UnavailableError {
  constructor(message = "This Pagoda server is not set up to send email. Ask its administrator.") {
    super("mail_disabled", message);
  }
}

export function mailEnabled(): boolean {
  return getConfig().PAGODA_SMTP_URL !== undefined;
}

/** The From header: PAGODA_MAIL_FROM, or no-reply at the dashboard's own host. */
export function mailFrom(): string {
  const config = getConfig();
  return config.PAGODA_MAIL_FROM ?? `Pagoda <no-reply@${new URL(config.NEXTAUTH_URL).hostname}>`;
}

// Short timeouts: a person is waiting on some of these sends, and a mail
// server that hangs must fail the send, not the request.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 15_000 };

function transporter(): Transporter {
  const url = getConfig().PAGODA_SMTP_URL;
  if (!url) throw new MailDisabledError();
  return processSingleton(`mailTransport:${url}`, () => nodemailer.createTransport({ url, ...TIMEOUTS, pool: true, maxConnections: 2 }));
}

/**
 * Hands one message to the SMTP server. A refusal or an outage is logged with
 * the message's purpose and recipient and thrown as MailUnavailableError, so
 * the caller decides what the person is told; it is never swallowed here.
 */
export async function sendMail(message: OutgoingMessage, context: { purpose: string; userId?: string }): Promise<void> {
  const transport = transporter();
  try {
    const info = (await transport.sendMail({
      from: mailFrom(),
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      // The links in these messages are single-use: no tracking, no auto-replies.
      headers: { "Auto-Submitted": "auto-generated" },
    })) as { messageId?: string };
    log.info({ ...context, to: message.to.address, messageId: info.messageId }, "mail sent");
  } catch (error) {
    log.error({ err: error, ...context, to: message.to.address }, "mail could not be sent");
    throw new MailUnavailableError();
  }
}
