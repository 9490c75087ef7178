/**
 * Mailpit, the real SMTP server (and web inbox) that `npm start`, the
 * integration tests and the browser tests send Pagoda's mail to. Built once
 * from its Go module by scripts/mail/mailpit-build and cached with the
 * cluster's tools; each run gets its own ports and its own message store.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { waitForHttp } from "@/scripts/dev/processes";
import { findFreePort } from "@/scripts/lib/free-port";

const run = promisify(execFile);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

/** The cached binary's path, building it first on a machine that has none (minutes, once). */
export async function mailpitBinary(): Promise<string> {
  const { stdout } = await run("bash", [path.join(root, "scripts/mail/mailpit-build")], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

export interface MailpitPorts {
  smtp: number;
  http: number;
}

export interface MailpitAddresses {
  /** What PAGODA_SMTP_URL is set to. */
  smtpUrl: string;
  /** The web inbox, and the HTTP API under /api/v1. */
  webUrl: string;
}

export function mailpitAddresses(ports: MailpitPorts): MailpitAddresses {
  return { smtpUrl: `smtp://127.0.0.1:${ports.smtp}`, webUrl: `http://127.0.0.1:${ports.http}` };
}

/** Loopback only; the store is a file the caller owns (a temporary one when omitted: Mailpit deletes it on exit). */
export function mailpitArgs(ports: MailpitPorts, databaseFile?: string): string[] {
  return [
    "--smtp",
    `127.0.0.1:${ports.smtp}`,
    "--listen",
    `127.0.0.1:${ports.http}`,
    "--disable-version-check",
    "--quiet",
    ...(databaseFile ? ["--database", databaseFile] : []),
  ];
}

export async function freeMailpitPorts(): Promise<MailpitPorts> {
  return { smtp: await findFreePort(), http: await findFreePort() };
}

function smtpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("data", (greeting) => {
      socket.destroy();
      resolve(greeting.toString().startsWith("220"));
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Resolves once both the web API and the SMTP greeting answer. */
export async function waitForMailpit(ports: MailpitPorts, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await waitForHttp(`${mailpitAddresses(ports).webUrl}/livez`, timeoutMs);
  while (!(await smtpAnswers(ports.smtp))) {
    if (Date.now() > deadline) throw new Error(`Mailpit's SMTP port ${ports.smtp} did not answer within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface RunningMailpit extends MailpitAddresses {
  stop(): Promise<void>;
}

/** A throw-away Mailpit on free loopback ports, for a test run. */
export async function startMailpit(): Promise<RunningMailpit> {
  const binary = await mailpitBinary();
  const ports = await freeMailpitPorts();
  const child: ChildProcess = spawn(binary, mailpitArgs(ports), { stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`Mailpit exited before it answered (${signal ?? `exit ${code}`})`))),
  );
  const stop = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        });
  try {
    await Promise.race([waitForMailpit(ports), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  exited.catch(() => undefined);
  return { ...mailpitAddresses(ports), stop };
}
