// What the pool's real-node test and the serving benchmark share: site
// artifacts made in memory, a host HTTP server handing them to pods (it stands
// for the dashboard's signed URLs), request loops through Traefik, and the
// memory of a pod's processes read from /proc (containers are host processes).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { Digest } from "@/lib/artifacts/digest";
import { getWithHost } from "@/tests/support/host-get";

export interface Artifact {
  digest: Digest;
  bytes: Buffer;
}

/**
 * A site's tar.gz as the upload pipeline lays it out (regular files and
 * their directories, sorted, fixed modes and times), so the same files give
 * the same digest.
 */
export async function makeArtifact(files: Record<string, string | Buffer>): Promise<Artifact> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on("end", () => resolve());
    pack.on("error", reject);
  });
  const names = Object.keys(files).sort();
  const dirs = new Set<string>();
  for (const name of names) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const entry = (header: Partial<tar.Header> & { name: string }, data?: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  for (const dir of [...dirs].sort()) await entry({ name: `${dir}/`, type: "directory", mode: 0o755, mtime: new Date(0) });
  for (const name of names) {
    const data = Buffer.from(files[name] as string | Buffer);
    await entry({ name, type: "file", mode: 0o644, size: data.length, mtime: new Date(0) }, data);
  }
  pack.finalize();
  await ended;
  const bytes = gzipSync(Buffer.concat(chunks));
  return { digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, bytes };
}

/**
 * Serves artifacts by digest at `/artifacts/<hex>.tar.gz`, on the node's
 * bridge address so pods reach it. It can be stopped and started again on
 * the same port (the URLs in the specs stay valid), and told to answer one
 * digest's URL with other bytes, as a corrupted or substituted download would.
 */
export class ArtifactServer {
  private readonly artifacts = new Map<string, Buffer>();
  private readonly substitutes = new Map<string, Buffer>();
  private readonly counts = new Map<string, number>();
  private server: http.Server | undefined;
  private port = 0;

  private constructor(private readonly address: string) {}

  static async start(address: string): Promise<ArtifactServer> {
    const s = new ArtifactServer(address);
    await s.listen();
    return s;
  }

  add(...artifacts: Artifact[]): void {
    for (const a of artifacts) this.artifacts.set(hexOf(a.digest), a.bytes);
  }

  urlOf(digest: Digest): string {
    return `http://${this.address}:${this.port}/artifacts/${hexOf(digest)}.tar.gz`;
  }

  fetches(digest: Digest): number {
    return this.counts.get(hexOf(digest)) ?? 0;
  }

  /** From now on the URL of `digest` answers `bytes` instead of the artifact. */
  substitute(digest: Digest, bytes: Buffer): void {
    this.substitutes.set(hexOf(digest), bytes);
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      const hex = /^\/artifacts\/([a-f0-9]{64})\.tar\.gz$/.exec(req.url ?? "")?.[1];
      const bytes = hex ? (this.substitutes.get(hex) ?? this.artifacts.get(hex)) : undefined;
      if (!hex || !bytes) {
        res.writeHead(404).end();
        return;
      }
      this.counts.set(hex, (this.counts.get(hex) ?? 0) + 1);
      res.writeHead(200, { "Content-Type": "application/gzip", "Content-Length": bytes.length }).end(bytes);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, this.address, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }
}

function hexOf(digest: Digest): string {
  return digest.slice("sha256:".length);
}

export interface RequestLoop {
  readonly requests: number;
  readonly failures: string[];
  /** Bodies seen per host. */
  readonly seen: Map<string, Set<string>>;
  stop(): Promise<void>;
}

/**
 * `workers` loops requesting `hosts` in turn through the Ingress until
 * stopped; an answer that is not a 200 with one of `accept(host)`'s bodies
 * is a failure, kept with its host.
 */
export function requestLoop(url: string, hosts: readonly string[], accept: (host: string) => readonly string[], workers = 1): RequestLoop {
  let stopped = false;
  let requests = 0;
  let next = 0;
  const failures: string[] = [];
  const seen = new Map<string, Set<string>>();
  const done = Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stopped) {
        const host = hosts[next++ % hosts.length] as string;
        requests += 1;
        const res = await getWithHost(url, host).catch((err: Error) => ({ status: 0, body: err.message }));
        if (res.status !== 200 || !accept(host).includes(res.body)) failures.push(`${host}: ${res.status} ${res.body.slice(0, 120)}`);
        else {
          const bodies = seen.get(host) ?? new Set<string>();
          bodies.add(res.body);
          seen.set(host, bodies);
        }
      }
    }),
  );
  return {
    get requests() {
      return requests;
    },
    failures,
    seen,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/**
 * Host pids of a pod's containers: the kubelet puts each pod in a cgroup
 * named after its uid (cgroupfs driver: `.../pod<uid>/<container>`).
 */
export function podPids(podUid: string): number[] {
  const marker = `/pod${podUid}/`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/** Name (comm) and resident set of a process, in KiB; undefined once it exited. */
export function processMemory(pid: number): { name: string; rssKiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const name = /^Name:\s+(\S+)/m.exec(status)?.[1] ?? "";
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return { name, rssKiB: rss };
  } catch {
    return undefined;
  }
}

/**
 * Summed RSS in KiB of the pod's processes but the sandbox's pause (not the
 * pod's work). Matched by cgroup rather than by name: Node names its process
 * after its main thread ("MainThread"), not "node".
 */
export function podRssKiB(podUid: string): { rssKiB: number; processes: string[] } {
  let rssKiB = 0;
  const processes: string[] = [];
  for (const pid of podPids(podUid)) {
    const mem = processMemory(pid);
    if (!mem || mem.name === "pause") continue;
    rssKiB += mem.rssKiB;
    processes.push(`${mem.name}:${pid} ${Math.round(mem.rssKiB / 1024)} MiB`);
  }
  return { rssKiB, processes };
}
