// The agent's HTTP API (docs: operator/pool/protocol.ts). Everything but the
// kubelet's probes needs the pool's token; a request without it learns
// nothing, not even which paths exist.
import { createHash, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { componentLogger } from "@/lib/log";
import { AGENT_TOKEN_HEADER, poolDesiredSchema, STATE_WAIT_MAX_MS } from "../protocol";
import { DesiredMapError, type PoolAgent } from "./agent";

const log = componentLogger("pool-api");

/** Largest desired map accepted: 100 000 sites with long signed URLs and rules fit. */
export const DESIRED_BODY_MAX_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { "content-length": 0 }).end();
    return;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function digestOf(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Equal lengths for timingSafeEqual, and no timing that tells how much of the token was right. */
export function tokenMatches(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== "string") return false;
  return timingSafeEqual(digestOf(given), digestOf(token));
}

async function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > max) throw new HttpError(413, `the body is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new HttpError(413, `the body is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Set by nginx's mirror of a request to an activated preview (and cleared on every other request it passes here). */
export const PREVIEW_USE_HEADER = "x-pagoda-preview-used";

/** The same path and query; leading slashes merged, as nginx merges them, so the redirect never names another host. */
export function samePlace(url: string | undefined): string {
  return url?.startsWith("/") ? `/${url.replace(/^\/+/, "")}` : "/";
}

/**
 * The loopback-only listener nginx passes preview hosts to (docs/serving.md,
 * "Previews"). No token: only this pod's nginx can reach it, and it answers
 * nothing a visitor could not learn from the preview host itself.
 */
export function createPreviewServer(agent: PoolAgent): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    if (req.headers[PREVIEW_USE_HEADER] === "1") {
      agent.touchPreview(req.headers.host);
      return send(res, 204);
    }
    agent.activatePreview(req.headers.host).then(
      (answer) => {
        if (answer.status === 404) return send(res, 404);
        const headers = { "cache-control": "no-store", "x-robots-tag": "noindex" };
        if (answer.status === 307) {
          res.writeHead(307, { ...headers, location: samePlace(req.url), "content-length": 0 }).end();
          return;
        }
        res
          .writeHead(502, { ...headers, "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(answer.message) })
          .end(answer.message);
      },
      (error: unknown) => {
        log.error({ err: error, host: req.headers.host }, "preview activation failed");
        if (!res.headersSent) send(res, 502, "This preview could not be served; try again shortly.\n");
        else res.destroy();
      },
    );
  });
}

const MIRROR_PATH_RE = /^\/v1\/artifacts\/sha256\/([0-9a-f]{64})$/;

/**
 * The mirror's listener (docs/serving.md, "Independent of the control
 * plane"): dedicated sites' pods fetch their deploy's tarball here by digest
 * when they start. No token: what it hands out is only the deploys dedicated
 * sites serve to anyone (never a preview, never a shared site's), a client
 * must already know the digest, and the pods verify it again; the pool's
 * NetworkPolicy lets only Pagoda's tenant namespaces reach the port.
 */
export function createMirrorServer(agent: PoolAgent): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") return send(res, 405);
    const hex = MIRROR_PATH_RE.exec(new URL(req.url ?? "/", "http://mirror").pathname)?.[1];
    if (!hex) return send(res, 404);
    serveTarball(agent, `sha256:${hex}`, method, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, "mirror request failed");
      if (!res.headersSent) send(res, 500);
      else res.destroy();
    });
  });
}

async function serveTarball(agent: PoolAgent, digest: string, method: string, res: http.ServerResponse): Promise<void> {
  const file = await agent.mirror.open(digest);
  if (!file) return send(res, 404);
  const { size } = await stat(file);
  res.writeHead(200, { "content-type": "application/gzip", "content-length": size, "cache-control": "no-store" });
  if (method === "HEAD") {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res);
}

const afterSchema = z.coerce.number().int().min(0);

export function createAgentServer(agent: PoolAgent, token: string): http.Server {
  const server = http.createServer((req, res) => {
    handle(agent, token, req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        // A body left unread would keep the connection busy with bytes nobody wants.
        if (error.status === 413) res.setHeader("connection", "close");
        send(res, error.status, { error: error.message });
        return;
      }
      log.error({ err: error, method: req.method, url: req.url }, "request failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  return server;
}

async function handle(agent: PoolAgent, token: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://agent");
  const method = req.method ?? "GET";
  if (url.pathname === "/healthz" || url.pathname === "/readyz") {
    if (method !== "GET" && method !== "HEAD") return send(res, 405);
    const ok = agent.nginxRunning && !agent.isStopping && (url.pathname === "/healthz" || agent.ready);
    return send(res, ok ? 200 : 503, ok ? "ok\n" : url.pathname === "/healthz" ? "nginx is not running\n" : "no desired map applied yet\n");
  }
  if (!tokenMatches(req.headers[AGENT_TOKEN_HEADER], token)) {
    req.resume();
    return send(res, 401);
  }
  switch (url.pathname) {
    case "/v1/desired": {
      if (method !== "PUT") return send(res, 405, { error: "use PUT" });
      const body = await readBody(req, DESIRED_BODY_MAX_BYTES);
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch (error) {
        throw new HttpError(400, `the body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
      const parsed = poolDesiredSchema.safeParse(json);
      if (!parsed.success) throw new HttpError(400, z.prettifyError(parsed.error));
      let accepted: boolean;
      try {
        accepted = await agent.receive(parsed.data);
      } catch (error) {
        if (error instanceof DesiredMapError) throw new HttpError(400, error.message);
        throw error;
      }
      const state = agent.state();
      if (!accepted)
        return send(res, 409, { error: `generation ${parsed.data.generation} is older than ${state.desiredGeneration}, which this agent holds`, state });
      return send(res, 202, state);
    }
    case "/v1/state": {
      if (method !== "GET") return send(res, 405, { error: "use GET" });
      const after = url.searchParams.get("after");
      if (after === null) return send(res, 200, agent.state());
      const n = afterSchema.safeParse(after);
      if (!n.success) throw new HttpError(400, "after must be a non-negative integer (a state version)");
      return send(res, 200, await agent.stateAfter(n.data, STATE_WAIT_MAX_MS));
    }
    case "/metrics": {
      if (method !== "GET") return send(res, 405, { error: "use GET" });
      const text = await agent.metrics.registry.metrics();
      res.writeHead(200, { "content-type": agent.metrics.registry.contentType }).end(text);
      return;
    }
    default:
      return send(res, 404, { error: "no such path" });
  }
}
