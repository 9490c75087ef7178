/**
 * The local mail catcher of `npm start`: a Mailpit on fixed loopback ports
 * (PAGODA_MAILPIT_PORT for its inbox, PAGODA_MAILPIT_SMTP_PORT for SMTP),
 * keeping its messages in the data directory across runs.
 */
import path from "node:path";
import { componentLogger } from "@/lib/log";
import type { ProcessGroup } from "@/scripts/dev/processes";
import { portIsFree } from "@/scripts/lib/free-port";
import { mailpitAddresses, mailpitArgs, mailpitBinary, waitForMailpit } from "@/scripts/mail/mailpit";

const log = componentLogger("mail");

/**
 * Starts Mailpit in the group and points PAGODA_SMTP_URL at it; returns the
 * line `npm start` prints. Without a Mailpit (no Go to build it, a port in
 * use) the dashboard runs with mail off, and the line says why.
 */
export async function startLocalMail(group: ProcessGroup, dataDir: string): Promise<string> {
  const ports = { http: Number(process.env.PAGODA_MAILPIT_PORT ?? 8025), smtp: Number(process.env.PAGODA_MAILPIT_SMTP_PORT ?? 1025) };
  let binary: string;
  try {
    for (const [name, port] of [
      ["PAGODA_MAILPIT_PORT", ports.http],
      ["PAGODA_MAILPIT_SMTP_PORT", ports.smtp],
    ] as const) {
      if (!(await portIsFree(port))) throw new Error(`port ${port} is in use (set ${name} to another one)`);
    }
    binary = await mailpitBinary();
  } catch (error) {
    log.warn({ err: error }, "no local Mailpit; the dashboard runs without mail");
    return `Mail: OFF (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); password reset and email verification are unavailable.`;
  }
  group.start("mailpit", binary, mailpitArgs(ports, path.resolve(dataDir, "mailpit.db")));
  await waitForMailpit(ports);
  const { smtpUrl, webUrl } = mailpitAddresses(ports);
  process.env.PAGODA_SMTP_URL = smtpUrl;
  return `Mail: every email lands in the local inbox at ${webUrl}`;
}
