// What the pool agent's tests share: artifacts made as the dashboard makes
// them (gzip-compressed tar of files and directories), a plain file server
// standing for the dashboard's signed URLs, and the agent's bundle started as
// its own process with a real nginx, on free loopback ports.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import http from "node:http";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { findFreePort } from "@/scripts/lib/free-port";
import { ensurePoolAgentBuild } from "@/scripts/pool-agent-build";
import { AGENT_ENV, AGENT_TOKEN_HEADER, mirrorPath, type PoolDesired, type PoolSite, type PoolState } from "../protocol";
import { AGENT_NGINX_ENV } from "./config";

export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  content?: string | Buffer;
  linkname?: string;
}

/** A gzip-compressed tar of exactly these entries, in this order (crafted ones included). */
export async function tarball(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = type === "file" ? Buffer.from(e.content ?? "") : undefined;
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: e.name, type, size: body?.length ?? 0, linkname: e.linkname, mode: type === "directory" ? 0o755 : 0o644 },
        body ?? Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export interface Artifact {
  digest: string;
  data: Buffer;
  /** The body its index.html answers. */
  body: string;
}

/** A site whose every page names `label`, so a body tells which artifact served it. */
export async function siteArtifact(label: string, extra: Record<string, string> = {}): Promise<Artifact> {
  const body = `<h1>${label}</h1>\n`;
  const files: Record<string, string> = {
    "index.html": body,
    "about/index.html": `<p>about ${label}</p>\n`,
    "404.html": `<p>missing in ${label}</p>\n`,
    ...extra,
  };
  const data = await tarball([{ name: "./", type: "directory" }, ...Object.entries(files).map(([name, content]) => ({ name: `./${name}`, content }))]);
  return { digest: sha256(data), data, body };
}

/** Serves `files` by path; a path missing answers 404. Stands for the dashboard's signed artifact URLs. */
export class ArtifactServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: string[] = [];
  /** Paths answered without a Content-Length (chunked), as a server that does not know the size in advance. */
  readonly chunked = new Set<string>();
  /** Paths whose answer waits until the promise settles, to hold an apply in the middle of a download. */
  readonly held = new Map<string, Promise<void>>();
  private server: http.Server | undefined;
  private readonly events = new EventEmitter();

  /** Resolves once `pathname` is asked for (at once if it was already). */
  requested(pathname: string): Promise<void> {
    if (this.requests.includes(pathname)) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (p: string) => {
        if (p !== pathname) return;
        this.events.off("request", listener);
        resolve();
      };
      this.events.on("request", listener);
    });
  }
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://artifacts");
      this.requests.push(url.pathname);
      this.events.emit("request", url.pathname);
      const hold = this.held.get(url.pathname);
      if (hold) {
        void hold.then(() => this.answer(url.pathname, res));
        return;
      }
      this.answer(url.pathname, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(port, "127.0.0.1", resolve));
    const address = this.server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
  }

  private answer(pathname: string, res: http.ServerResponse): void {
    const data = this.files.get(pathname);
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/gzip", ...(this.chunked.has(pathname) ? {} : { "content-length": data.length }) }).end(data);
  }

  /** The URL of `artifact` under `name`, with a query like a signed URL's. */
  add(name: string, data: Buffer): string {
    this.files.set(`/${name}`, data);
    return this.url(name);
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.port}/${name}?signature=${randomBytes(8).toString("hex")}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive: each answer comes from whichever worker accepted it). */
export function request(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

export interface RunningAgent {
  apiPort: number;
  sitePort: number;
  mirrorPort: number;
  token: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  page(host: string, path?: string, headers?: Record<string, string>): Promise<Answer>;
  put(desired: PoolDesired | unknown, token?: string): Promise<Answer>;
  state(after?: number): Promise<PoolState>;
  /** Long-polls until `done` holds for the state. */
  waitForState(done: (s: PoolState) => boolean): Promise<PoolState>;
  /** The mirror's answer for `digest`: its status, type and bytes. */
  mirrored(digest: string, method?: string): Promise<{ status: number; type: string | null; body: Buffer }>;
  /** Asks the mirror until it answers `digest` with 200 (it fills in the background, behind the applies). */
  untilMirrored(digest: string): Promise<Buffer>;
  stop(): Promise<number | null>;
}

export interface AgentDirs {
  storeDir: string;
  workDir: string;
}

/** Starts the agent's bundle as its own process and resolves once /healthz answers 200. */
export async function startAgent(dirs: AgentDirs, env: Record<string, string> = {}): Promise<RunningAgent> {
  const bundle = await ensurePoolAgentBuild();
  const [apiPort, sitePort, controlPort, previewPort, mirrorPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const token = randomBytes(24).toString("base64url");
  const childEnv: NodeJS.ProcessEnv = {
    NODE_ENV: "production",
    PATH: process.env.PATH,
    LOG_LEVEL: "warn",
    [AGENT_ENV.token]: token,
    [AGENT_ENV.storeDir]: dirs.storeDir,
    [AGENT_ENV.workDir]: dirs.workDir,
    [AGENT_ENV.podName]: "pool-test-0",
    [AGENT_NGINX_ENV.listenHost]: "127.0.0.1",
    [AGENT_NGINX_ENV.apiPort]: String(apiPort),
    [AGENT_NGINX_ENV.sitePort]: String(sitePort),
    [AGENT_NGINX_ENV.controlPort]: String(controlPort),
    [AGENT_NGINX_ENV.previewPort]: String(previewPort),
    [AGENT_NGINX_ENV.mirrorPort]: String(mirrorPort),
    [AGENT_NGINX_ENV.accessLog]: `${dirs.workDir}/access.log`,
    [AGENT_NGINX_ENV.errorLog]: `${dirs.workDir}/error.log`,
    ...env,
  };
  const child = spawn(process.execPath, [bundle], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const api = (method: string, path: string, body?: string, t = token) =>
    request(apiPort, { method, path, body, headers: { [AGENT_TOKEN_HEADER]: t, ...(body !== undefined ? { "content-type": "application/json" } : {}) } });
  const agent: RunningAgent = {
    apiPort,
    sitePort,
    mirrorPort,
    token,
    child,
    output: () => output,
    exited,
    page: (host, path = "/", headers = {}) => request(sitePort, { path, headers: { host, ...headers } }),
    put: (desired, t) => api("PUT", "/v1/desired", typeof desired === "string" ? desired : JSON.stringify(desired), t),
    async state(after) {
      const res = await api("GET", after === undefined ? "/v1/state" : `/v1/state?after=${after}`);
      if (res.status !== 200) throw new Error(`state answered ${res.status}: ${res.body}`);
      return JSON.parse(res.body) as PoolState;
    },
    async waitForState(done) {
      let s = await agent.state();
      while (!done(s)) {
        if (exitCode !== undefined) throw new Error(`the agent exited with ${exitCode}:\n${output}`);
        s = await agent.state(s.version);
      }
      return s;
    },
    async mirrored(digest, method = "GET") {
      const res = await fetch(`http://127.0.0.1:${mirrorPort}${mirrorPath(digest)}`, { method });
      return { status: res.status, type: res.headers.get("content-type"), body: Buffer.from(await res.arrayBuffer()) };
    },
    async untilMirrored(digest) {
      for (;;) {
        if (exitCode !== undefined) throw new Error(`the agent exited with ${exitCode}:\n${output}`);
        const got = await agent.mirrored(digest);
        if (got.status === 200) return got.body;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (exitCode === undefined) child.kill("SIGTERM");
      return exited;
    },
  };
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the agent exited with ${exitCode} before answering:\n${output}`);
    const ok = await request(apiPort, { path: "/healthz" }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return agent;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function site(key: string, hosts: string[], artifact: Artifact, url: string, more: Partial<PoolSite> = {}): PoolSite {
  return { key, hosts, digest: artifact.digest, url, spa: false, ...more };
}

/** True when the state reports every site of `desired` with hosts applied at its wanted digest or with an error (one without is not reported). */
export function settledOn(desired: PoolDesired): (s: PoolState) => boolean {
  return (s) =>
    s.appliedGeneration >= desired.generation &&
    desired.sites.every(
      (want) => want.hosts.length === 0 || s.sites.some((got) => got.key === want.key && (got.digest === want.digest || got.error !== undefined)),
    );
}
