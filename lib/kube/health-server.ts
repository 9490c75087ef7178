// /healthz (the process is alive), /readyz (caches synced, watches not
// stalled) and /metrics on one small HTTP server.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export interface HealthServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  readiness: () => Readiness;
  /** Called before metrics are rendered, to refresh gauges. */
  beforeMetrics?: () => void;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const r = opts.readiness();
      res.writeHead(r.ready ? 200 : 503, { "Content-Type": "text/plain" }).end(r.ready ? "ok\n" : `not ready:\n${r.reasons.map((x) => `- ${x}`).join("\n")}\n`);
      return;
    }
    if (path === "/metrics") {
      opts.beforeMetrics?.();
      opts.registry.metrics().then(
        (body) => res.writeHead(200, { "Content-Type": opts.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
      );
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
