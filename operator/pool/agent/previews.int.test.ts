// Previews served lazily by the pool agent: its bundle as its own process, a
// real nginx as its child, artifacts from a plain HTTP server of the test
// that counts what is asked of it. Needs the `nginx` binary.
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewHost, previewRef } from "@/lib/staticsite/site-url";
import type { PoolDesired, PoolSite } from "../protocol";
import { digestHex } from "./render";
import { ArtifactServer, settledOn, site, siteArtifact, startAgent, type Answer, type Artifact, type RunningAgent, type AgentDirs } from "./test-support";

const PREVIEWS_MAX = 2;

function preview(artifact: Artifact, siteHost: string, url: string): NonNullable<PoolSite["previews"]>[number] {
  const host = previewHost(previewRef(artifact.digest), siteHost);
  if (!host) throw new Error(`no preview host for ${siteHost}`);
  return { host, digest: artifact.digest, url };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** What a visitor can compare between two answers: everything but the date. */
function visible(answer: Answer): { status: number; body: string; headers: Record<string, unknown> } {
  const headers: Record<string, unknown> = { ...answer.headers };
  delete headers.date;
  return { status: answer.status, body: answer.body, headers };
}

describe("pool agent previews", () => {
  const artifacts = new ArtifactServer();
  let dirs: AgentDirs & { root: string };
  let agent: RunningAgent;
  let generation = 0;
  // Site A: a1 promoted, a2 a newer deploy not promoted. Site B: b1 promoted, b2 not. Site D is dedicated: d1 is
  // served by its own pods (the pool only mirrors it), d2 only as a preview here.
  let a1: Artifact, a2: Artifact, b1: Artifact, b2: Artifact, d1: Artifact, d2: Artifact;
  const urls: Record<string, string> = {};
  let sites: PoolSite[];

  const fetched = (name: string) => artifacts.requests.filter((p) => p === `/${name}.tgz`).length;

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${agent.apiPort}/metrics`, { headers: { "x-pagoda-pool-token": agent.token } })).text();
    return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
  }

  /** Waits until nginx's mirrors of preview requests have reached the agent `count` times in all. */
  async function usesReach(count: number): Promise<void> {
    for (let attempt = 0; (await metric("pagoda_pool_preview_uses_total")) < count; attempt++) {
      if (attempt > 500) throw new Error(`preview uses stayed below ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async function apply(list: PoolSite[]): Promise<PoolDesired> {
    const desired = { generation: ++generation, sites: list };
    const res = await agent.put(desired);
    expect(res.status, res.body).toBe(202);
    await agent.waitForState(settledOn(desired));
    return desired;
  }

  beforeAll(async () => {
    await artifacts.start();
    dirs = { root: await mkdtemp(path.join(os.tmpdir(), "pagoda-pool-previews-")), storeDir: "", workDir: "" };
    await chmod(dirs.root, 0o755);
    dirs.storeDir = path.join(dirs.root, "store");
    dirs.workDir = path.join(dirs.root, "work");
    [a1, a2, b1, b2, d1, d2] = await Promise.all([
      siteArtifact("a1"),
      siteArtifact("a2"),
      siteArtifact("b1"),
      siteArtifact("b2"),
      siteArtifact("d1"),
      siteArtifact("d2"),
    ]);
    for (const [name, artifact] of Object.entries({ a1, a2, b1, b2, d1, d2 })) urls[name] = artifacts.add(`${name}.tgz`, artifact.data);
    agent = await startAgent(dirs, { PAGODA_POOL_PREVIEWS_MAX: String(PREVIEWS_MAX) });
    sites = [
      site("ns/a", ["a.example"], a1, urls.a1!, {
        rules: { headers: "/*\n  X-Site: a\n" },
        previews: [preview(a2, "a.example", urls.a2!), preview(a1, "a.example", urls.a1!)],
      }),
      site("ns/b", ["b.example"], b1, urls.b1!, { previews: [preview(b2, "b.example", urls.b2!), preview(b1, "b.example", urls.b1!)] }),
      site("ns/d", [], d1, urls.d1!, { previews: [preview(d2, "d.example", urls.d2!)] }),
    ];
    await apply(sites);
  });

  afterAll(async () => {
    await agent?.stop();
    await artifacts.stop();
    if (dirs) await rm(dirs.root, { recursive: true, force: true });
  });

  it("fetches nothing for a preview before a request for its host, and a dedicated site's own deploy only for the mirror", async () => {
    // The mirror keeps the dedicated site's deploy for its own pods: once, in the background, and as the bytes only.
    expect(await agent.untilMirrored(d1.digest)).toEqual(d1.data);
    expect([fetched("a1"), fetched("b1"), fetched("d1")]).toEqual([1, 1, 1]);
    expect([fetched("a2"), fetched("b2"), fetched("d2")]).toEqual([0, 0, 0]);
    const state = await agent.state();
    // A site in the map for its previews only serves nothing of its own here, and is not reported as served.
    expect(state.sites.map((s) => s.key)).toEqual(["ns/a", "ns/b"]);
    expect(await readdir(path.join(dirs.workDir, "sites"))).not.toContain(digestHex(d1.digest));
    expect((await agent.page("d.example")).status).toBe(404);
  });

  it("serves a preview after one 307 to the same path and query, with noindex, while the main host serves the promoted deploy", async () => {
    const host = preview(a2, "a.example", "").host;
    const started = performance.now();
    const first = await agent.page(host, "/about/?from=review");
    const cold = performance.now() - started;
    expect(first.status, first.body).toBe(307);
    expect(first.headers.location).toBe("/about/?from=review");
    expect(first.headers["cache-control"]).toBe("no-store");
    expect(first.headers["x-robots-tag"]).toBe("noindex");
    expect(fetched("a2")).toBe(1);

    const warmTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const again = await agent.page(host, "/about/?from=review");
      warmTimes.push(performance.now() - t);
      expect(again.status).toBe(200);
      expect(again.body).toContain("about a2");
      expect(again.headers["x-robots-tag"]).toBe("noindex");
      // The site's own rules apply to its previews.
      expect(again.headers["x-site"]).toBe("a");
    }
    const missing = await agent.page(host, "/nothing");
    expect([missing.status, missing.headers["x-robots-tag"]]).toEqual([404, "noindex"]);
    const main = await agent.page("a.example", "/about/");
    expect(main.body).toContain("about a1");
    expect(main.headers["x-robots-tag"]).toBeUndefined();
    console.log(`preview first request (fetch, unpack, reload, 307): ${cold.toFixed(1)} ms; warm: median ${median(warmTimes).toFixed(2)} ms`);
  });

  it("answers a preview host the map does not list 404, exactly as an unknown host, and fetches nothing for it", async () => {
    const unknown = visible(await agent.page("nobody.example", "/"));
    const before = artifacts.requests.length;
    // Site B's deploy under site A's label, and a deploy nobody made.
    const crossed = previewHost(previewRef(b2.digest), "a.example")!;
    const invented = previewHost("0123456789ab", "a.example")!;
    for (const host of [crossed, invented, previewHost(previewRef(d1.digest), "d.example")!]) {
      const answer = await agent.page(host, "/");
      expect(visible(answer), host).toEqual(unknown);
    }
    expect(artifacts.requests.length).toBe(before);
    // Neither does a site's main host serve its previews' deploys, nor a preview host the main one.
    expect((await agent.page("b.example")).body).toBe(b1.body);
  });

  it("fetches a preview once for concurrent first requests", async () => {
    const host = preview(d2, "d.example", "").host;
    const answers = await Promise.all(Array.from({ length: 8 }, () => agent.page(host, "/")));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(307));
    expect(fetched("d2")).toBe(1);
    expect((await agent.page(host, "/")).body).toBe(d2.body);
    // Only the mirror's one fetch of the site's own deploy, never another for the preview.
    expect(fetched("d1")).toBe(1);
  });

  it("deactivates the least recently used preview past the bound, never one the main hosts serve", async () => {
    // Active now: a2 (activated first), d2. a2 is used again; b2 comes: d2, the least recently used, goes.
    const [hostA2, hostD2, hostB2] = [preview(a2, "a.example", "").host, preview(d2, "d.example", "").host, preview(b2, "b.example", "").host];
    const uses = await metric("pagoda_pool_preview_uses_total");
    expect((await agent.page(hostA2)).status).toBe(200);
    await usesReach(uses + 1);
    const deactivated = await metric("pagoda_pool_previews_deactivated_total");
    expect((await agent.page(hostB2)).status).toBe(307);
    expect(await metric("pagoda_pool_previews_deactivated_total")).toBe(deactivated + 1);
    expect((await agent.page(hostA2)).body).toBe(a2.body);
    expect((await agent.page(hostB2)).body).toBe(b2.body);
    expect(await metric("pagoda_pool_previews_active")).toBe(PREVIEWS_MAX);
    // d2 comes back through the agent again, from the store (no fetch).
    const started = performance.now();
    expect((await agent.page(hostD2)).status).toBe(307);
    const fromStore = performance.now() - started;
    expect(fetched("d2")).toBe(1);
    console.log(`preview reactivated soon after its deactivation (nothing fetched; reload, 307): ${fromStore.toFixed(1)} ms`);

    // Previews of the main digests: they count, but are never the ones deactivated.
    const hostA1 = preview(a1, "a.example", "").host;
    const hostB1 = preview(b1, "b.example", "").host;
    expect((await agent.page(hostA1)).status).toBe(307);
    expect((await agent.page(hostB1)).status).toBe(307);
    expect((await agent.page(hostA1)).headers["x-robots-tag"]).toBe("noindex");
    expect((await agent.page(hostB1)).body).toBe(b1.body);
    expect(await metric("pagoda_pool_previews_active")).toBe(PREVIEWS_MAX);
  });

  it("promotes a previewed deploy without fetching it again", async () => {
    const hostA2 = preview(a2, "a.example", "").host;
    expect((await agent.page(hostA2)).status).toBe(307);
    const before = fetched("a2");
    const promoted = sites.map((s) => (s.key === "ns/a" ? { ...s, digest: a2.digest, url: urls.a2! } : s));
    await apply(promoted);
    expect((await agent.page("a.example")).body).toBe(a2.body);
    expect(fetched("a2")).toBe(before);
  });

  it("answers 502 with a short text when a preview's artifact cannot be fetched, leaving nothing behind", async () => {
    const gone = await siteArtifact("gone");
    const entry = preview(gone, "b.example", artifacts.url("gone.tgz"));
    await apply(sites.map((s) => (s.key === "ns/b" ? { ...s, previews: [entry, ...(s.previews ?? [])] } : s)));
    const answer = await agent.page(entry.host, "/");
    expect(answer.status).toBe(502);
    expect(answer.body).toBe("This preview could not be fetched; try again shortly.\n");
    expect(answer.headers["x-robots-tag"]).toBe("noindex");
    expect(await readdir(path.join(dirs.workDir, "sites"))).not.toContain(digestHex(gone.digest));
    expect(await readdir(dirs.storeDir)).not.toContain(`${digestHex(gone.digest)}.tgz`);
    // Nothing half-made: the next request tries again, and answers the same.
    expect((await agent.page(entry.host, "/")).status).toBe(502);
  });
});
