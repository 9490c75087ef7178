/**
 * A real authoritative DNS server (Knot DNS, Debian's `knot` package) on a
 * free loopback port, for tests and the local TLS tier: domain verification
 * looks up TXT/CNAME/A records through it, and Pebble validates HTTP-01
 * challenges by resolving names through it. Records change at run time
 * through knotc's zone transactions, which Knot applies before knotc returns.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Resolver } from "node:dns/promises";
import { findFreePort } from "@/scripts/lib/free-port";

export const KNOTD = process.env.PAGODA_KNOTD ?? "/usr/sbin/knotd";
export const KNOTC = process.env.PAGODA_KNOTC ?? "/usr/sbin/knotc";

export interface DnsServerOptions {
  /** Zones served authoritatively, e.g. ["customer.test"]. Names outside them are refused. */
  zones: string[];
  /** Seconds a record may be cached by resolvers. Default 1, so changes are seen at once. */
  ttl?: number;
  /** Keep the zone files and logs here instead of a temporary directory removed on stop(). */
  dir?: string;
}

export interface DnsServer {
  /** "127.0.0.1:<port>", UDP and TCP. */
  address: string;
  host: string;
  port: number;
  zones: string[];
  /** Configuration, zone files, journal and control socket. */
  dir: string;
  /** Replaces every record of this name and type with `values` (TXT values are the texts, unquoted). */
  setRecords(name: string, type: string, values: string[]): Promise<void>;
  /** Removes every record of this name and type; a name with none is fine. */
  removeRecords(name: string, type: string): Promise<void>;
  stop(): Promise<void>;
}

const TYPE = /^[A-Z][A-Z0-9]{0,9}$/;
const LABEL = /^(?:\*|_?[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)$/;

/** Lower-case, absolute (trailing dot) form of a DNS name; throws on anything that is not one. */
export function absoluteName(name: string): string {
  const bare = name.trim().toLowerCase().replace(/\.$/, "");
  const labels = bare.split(".");
  if (!bare || bare.length > 253 || !labels.every((l) => LABEL.test(l))) {
    throw new Error(`not a DNS name: ${JSON.stringify(name)}`);
  }
  return `${bare}.`;
}

/** The configured zone a name belongs to (the longest suffix match), or undefined. */
export function zoneOf(name: string, zones: string[]): string | undefined {
  const abs = absoluteName(name);
  return zones
    .map(absoluteName)
    .filter((zone) => abs === zone || abs.endsWith(`.${zone}`))
    .sort((a, b) => b.length - a.length)[0];
}

/** Record data in zone-file syntax; TXT texts are quoted with `"` and `\` escaped. */
export function rdata(type: string, value: string): string {
  if (/[\n\r]/.test(value)) throw new Error(`record data may not contain line breaks: ${JSON.stringify(value)}`);
  if (type === "TXT") {
    if (Buffer.byteLength(value) > 255) throw new Error("a TXT string is at most 255 bytes");
    return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  }
  return value;
}

export function knotConfig(dir: string, port: number, zones: string[]): string {
  const zoneLines = zones.map((z) => `  - domain: ${absoluteName(z)}\n`).join("");
  return `server:
    rundir: "${dir}/run"
    listen: 127.0.0.1@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
control:
    listen: "${dir}/run/knot.sock"
database:
    storage: "${dir}/db"
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    # The zone lives in memory and the journal; nothing rewrites the files.
    zonefile-sync: -1
    semantic-checks: off
zone:
${zoneLines}`;
}

export function zoneFile(zone: string, ttl: number): string {
  const origin = absoluteName(zone);
  return `$ORIGIN ${origin}
$TTL ${ttl}
@ SOA ns.${origin} hostmaster.${origin} 1 60 60 3600 ${ttl}
@ NS ns.${origin}
ns A 127.0.0.1
`;
}

function knotc(socket: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(KNOTC, ["-s", socket, "-t", "10", ...args], (error, stdout, stderr) => {
      if (error) reject(new Error(`knotc ${args.join(" ")} failed: ${(stderr || stdout || error.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** Another process of the run may hold the zone's one transaction for a moment. */
async function beginTransaction(socket: string, zone: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await knotc(socket, ["zone-begin", zone]);
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function waitForKnot(socket: string, host: string, port: number, zone: string, exited: Promise<never>): Promise<void> {
  const deadline = Date.now() + 30_000;
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`${host}:${port}`]);
  let lastError: unknown;
  for (;;) {
    try {
      await Promise.race([knotc(socket, ["status"]), exited]);
      await Promise.race([resolver.resolveSoa(zone.replace(/\.$/, "")), exited]);
      return;
    } catch (error) {
      lastError = error;
      if (error instanceof Error && error.message.startsWith("knotd exited")) throw error;
    }
    if (Date.now() > deadline) throw new Error(`knotd did not answer on ${host}:${port} within 30 s: ${String(lastError)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts knotd serving `zones` on a free loopback port; resolves once it answers for them. */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  if (!existsSync(KNOTD) || !existsSync(KNOTC)) {
    throw new Error(`Knot DNS is not installed (${KNOTD}, ${KNOTC}); install it with: apt-get install -y knot`);
  }
  const zones = [...new Set(options.zones.map(absoluteName))];
  if (zones.length === 0) throw new Error("startDnsServer needs at least one zone");
  const ttl = options.ttl ?? 1;
  const ownsDir = !options.dir;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), "pagoda-dns-")));
  await Promise.all(["run", "db", "zones"].map((d) => mkdir(path.join(dir, d), { recursive: true })));
  for (const zone of zones) await writeFile(path.join(dir, "zones", `${zone}zone`), zoneFile(zone, ttl));
  const host = "127.0.0.1";
  const port = await findFreePort();
  const conf = path.join(dir, "knot.conf");
  await writeFile(conf, knotConfig(dir, port, zones));
  const socket = path.join(dir, "run", "knot.sock");

  let stderr = "";
  const child: ChildProcess = spawn(KNOTD, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`knotd exited (${signal ?? `exit ${code}`}): ${stderr.trim()}`))),
  );
  exited.catch(() => undefined);
  // A run that ends without stop() must not leave the server behind.
  const onExit = () => child.kill("SIGTERM");
  process.once("exit", onExit);
  child.once("exit", () => process.removeListener("exit", onExit));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    }
    if (ownsDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForKnot(socket, host, port, zones[0]!, exited);
  } catch (error) {
    await stop();
    throw error;
  }

  return { ...connectDnsServer({ address: `${host}:${port}`, dir, zones, ttl }), stop };
}

export interface DnsServerInfo {
  address: string;
  dir: string;
  zones: string[];
  ttl?: number;
}

/**
 * Changes records of a server started elsewhere (another process of the
 * same run: the browser tests' stack starts it, the test workers change it)
 * through its control socket. The returned object has no stop().
 */
export function connectDnsServer(info: DnsServerInfo): Omit<DnsServer, "stop"> {
  const zones = info.zones.map(absoluteName);
  const ttl = info.ttl ?? 1;
  const socket = path.join(info.dir, "run", "knot.sock");
  const [host, port] = info.address.split(":") as [string, string];
  // Knot allows one open transaction per zone; changes are applied one after another.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const change = async (name: string, type: string, values: string[]): Promise<void> => {
    const owner = absoluteName(name);
    const rrtype = type.toUpperCase();
    if (!TYPE.test(rrtype) || rrtype === "SOA") throw new Error(`record type not allowed: ${JSON.stringify(type)}`);
    const zone = zoneOf(owner, zones);
    if (!zone) throw new Error(`${owner} is in none of the served zones (${zones.join(", ")})`);
    const data = values.map((v) => rdata(rrtype, v));
    return serially(async () => {
      await beginTransaction(socket, zone);
      try {
        const existing = await knotc(socket, ["zone-get", zone, owner, rrtype]).catch((error: unknown) => {
          // A name with no records yet is an error to knotc; anything else is a real failure.
          if (error instanceof Error && error.message.includes("(no such node in zone found)")) return "";
          throw error;
        });
        if (existing.trim()) await knotc(socket, ["zone-unset", zone, owner, rrtype]);
        for (const d of data) await knotc(socket, ["zone-set", zone, owner, String(ttl), rrtype, d]);
        await knotc(socket, ["zone-commit", zone]);
      } catch (error) {
        await knotc(socket, ["zone-abort", zone]).catch(() => undefined);
        throw error;
      }
    });
  };

  return {
    address: info.address,
    host,
    port: Number(port),
    zones: zones.map((z) => z.replace(/\.$/, "")),
    dir: info.dir,
    setRecords: (name, type, values) => change(name, type, values),
    removeRecords: (name, type) => change(name, type, []),
  };
}
