import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";

/** True when nothing listens on this loopback port (we could bind it just now). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error)));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The kernel's choice for a listen on port 0. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error("could not determine a free port"))));
    });
  });
}

/** The first port the kernel gives outgoing connections (Linux's ip_local_port_range); its usual default elsewhere. */
export function ephemeralPortsFrom(read: () => string = () => readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")): number {
  try {
    const low = Number(read().trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** How many ports below the ephemeral range are picked from. */
const BAND = 12_000;
/** Ports this process handed out: picked ports stay unbound until their server starts, so a second pick could find one free again. */
const given = new Set<number>();

/**
 * A loopback port that was free a moment ago, picked below the range the
 * kernel takes the local ports of outgoing connections from. A port inside
 * that range can be taken by any connect() between the pick and the bind, or
 * while a server restarts on it (seen: Traefik, nginx and an API server
 * failing with "address already in use"); one below it is only ever taken by
 * a listen. Never the same port twice in one process. Falls back to the
 * kernel's choice when that range starts too low to leave a band below it.
 */
export async function findFreePort(): Promise<number> {
  const top = ephemeralPortsFrom() - 1;
  const bottom = top - BAND;
  if (bottom < 1024) return kernelPort();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(bottom, top + 1);
    if (given.has(port) || !(await portIsFree(port))) continue;
    given.add(port);
    return port;
  }
  return kernelPort();
}
