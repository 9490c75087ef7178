// The pool agent as it runs in a pool pod: its bundle as its own process, a
// real nginx as its child, artifacts from a plain HTTP server of the test.
// Needs the `nginx` binary (Debian: apt-get install nginx).
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mirrorPath, type PoolDesired, type PoolState } from "../protocol";
import { DESIRED_BODY_MAX_BYTES } from "./api";
import {
  ArtifactServer,
  request,
  settledOn,
  site,
  siteArtifact,
  startAgent,
  tarball,
  sha256,
  type Artifact,
  type RunningAgent,
  type AgentDirs,
} from "./test-support";

const run = promisify(execFile);

async function tempDirs(): Promise<AgentDirs & { root: string }> {
  const root = await mkdtemp(path.join(os.tmpdir(), "pagoda-pool-agent-"));
  // Started as root, nginx's workers run as `nobody` and must reach the unpacked trees.
  await chmod(root, 0o755);
  return { root, storeDir: path.join(root, "store"), workDir: path.join(root, "work") };
}

function siteOf(state: PoolState, key: string) {
  const found = state.sites.find((s) => s.key === key);
  if (!found) throw new Error(`no site ${key} in ${JSON.stringify(state)}`);
  return found;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Resident memory in KiB of the agent, and of its nginx master and workers (from ps). */
async function rssKiB(agentPid: number): Promise<{ agent: number; nginx: number; nginxProcesses: number }> {
  const { stdout } = await run("ps", ["-e", "-o", "pid=,ppid=,rss="]);
  const rows = stdout
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const below = new Set<number>();
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp] of rows) {
      if ((pp === agentPid || below.has(pp)) && !below.has(p)) {
        below.add(p);
        grew = true;
      }
    }
  }
  const of = (pids: (p: number) => boolean) => rows.filter(([p]) => pids(p)).reduce((n, r) => n + r[2], 0);
  return { agent: of((p) => p === agentPid), nginx: of((p) => below.has(p)), nginxProcesses: below.size };
}

describe("pool agent", () => {
  const artifacts = new ArtifactServer();
  let dirs: AgentDirs & { root: string };
  let agent: RunningAgent;
  let generation = 0;
  let alpha: Artifact;
  let beta: Artifact;
  let alphaUrl: string;
  let betaUrl: string;

  async function apply(desired: Omit<PoolDesired, "generation">): Promise<{ desired: PoolDesired; state: PoolState }> {
    const full = { generation: ++generation, ...desired };
    const res = await agent.put(full);
    expect(res.status, res.body).toBe(202);
    return { desired: full, state: await agent.waitForState(settledOn(full)) };
  }

  async function metric(line: RegExp): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${agent.apiPort}/metrics`, { headers: { "x-pagoda-pool-token": agent.token } })).text();
    return Number(line.exec(text)?.[1] ?? 0);
  }
  const applies = () => metric(/^pagoda_pool_applies_total\{result="success"\} (\d+)$/m);
  const reloads = () => metric(/^pagoda_pool_reloads_total (\d+)$/m);

  beforeAll(async () => {
    await artifacts.start();
    dirs = await tempDirs();
    alpha = await siteArtifact("alpha");
    beta = await siteArtifact("beta");
    alphaUrl = artifacts.add("alpha.tgz", alpha.data);
    betaUrl = artifacts.add("beta.tgz", beta.data);
    // The artifact server doubles as the origin the proxy rules may reach.
    agent = await startAgent(dirs, { PAGODA_PROXY_ORIGINS: `http://127.0.0.1:${artifacts.port}` });
  });

  afterAll(async () => {
    await agent?.stop();
    await artifacts.stop();
    if (dirs) await rm(dirs.root, { recursive: true, force: true });
  });

  it("is live but not ready before any desired map, and serves 404 for every host", async () => {
    expect((await agent.page("unknown.example")).status).toBe(404);
    expect((await agent.page("unknown.example", "/healthz")).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${agent.apiPort}/readyz`);
    expect(ready.status).toBe(503);
  });

  it("refuses a request without the right token with 401 and nothing else", async () => {
    for (const token of ["", "x".repeat(40), agent.token.slice(0, -1) + (agent.token.endsWith("a") ? "b" : "a")]) {
      const put = await agent.put({ generation: 1, sites: [] }, token);
      expect(put.status).toBe(401);
      expect(put.body).toBe("");
    }
    for (const p of ["/v1/state", "/metrics", "/no-such-path"]) {
      const res = await fetch(`http://127.0.0.1:${agent.apiPort}${p}`);
      expect(res.status).toBe(401);
      expect(await res.text()).toBe("");
    }
    expect((await agent.state()).desiredGeneration).toBe(0);
  });

  it("refuses a bad body with 400 and zod's message, changing nothing", async () => {
    const notJson = await agent.put("{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatch(/not JSON/);
    const bad = await agent.put({ generation: 0, sites: [{ key: "ns/a", hosts: ["UPPER.example"], digest: "sha256:xyz", url: "ftp://x", spa: "no" }] });
    expect(bad.status).toBe(400);
    const error = (JSON.parse(bad.body) as { error: string }).error;
    expect(error).toMatch(/generation/);
    expect(error).toMatch(/digest/);
    expect(error).toMatch(/spa/);
    const twice = await agent.put({ generation: 1, sites: [site("ns/a", [], alpha, alphaUrl), site("ns/a", [], beta, betaUrl)] });
    expect(twice.status).toBe(400);
    expect(twice.body).toMatch(/appears twice/);
    const huge = await request(agent.apiPort, {
      method: "PUT",
      path: "/v1/desired",
      headers: { "x-pagoda-pool-token": agent.token, "content-length": String(DESIRED_BODY_MAX_BYTES + 1) },
      body: "{",
    });
    expect(huge.status).toBe(413);
    const state = await agent.state();
    expect(state.desiredGeneration).toBe(0);
    expect(state.sites).toEqual([]);
  });

  it("serves each site by its Host header and becomes ready", async () => {
    const { state } = await apply({
      sites: [site("ns/alpha", ["alpha.example", "www.alpha.example"], alpha, alphaUrl), site("ns/beta", ["beta.example"], beta, betaUrl)],
    });
    expect(siteOf(state, "ns/alpha")).toEqual({ key: "ns/alpha", digest: alpha.digest, hosts: ["alpha.example", "www.alpha.example"] });
    expect(siteOf(state, "ns/beta")).toEqual({ key: "ns/beta", digest: beta.digest, hosts: ["beta.example"] });
    expect((await agent.page("alpha.example")).body).toBe(alpha.body);
    expect((await agent.page("www.alpha.example")).body).toBe(alpha.body);
    expect((await agent.page("beta.example")).body).toBe(beta.body);
    expect((await agent.page("beta.example", "/about/")).body).toContain("about beta");
    const missing = await agent.page("beta.example", "/nothing");
    expect(missing.status).toBe(404);
    expect((await agent.page("other.example")).status).toBe(404);
    // The store's figures come with the report after the apply's clean-up, which follows the report of what is served.
    expect((await agent.waitForState((s) => s.cache.entries === 2)).cache.entries).toBe(2);
    expect((await fetch(`http://127.0.0.1:${agent.apiPort}/readyz`)).status).toBe(200);
  });

  it("refuses an older generation with 409", async () => {
    const { desired } = await apply({
      sites: [site("ns/alpha", ["alpha.example", "www.alpha.example"], alpha, alphaUrl), site("ns/beta", ["beta.example"], beta, betaUrl)],
    });
    const res = await agent.put({ ...desired, generation: generation - 1 });
    expect(res.status).toBe(409);
    expect((await agent.state()).desiredGeneration).toBe(generation);
    // The same map again (a resync) is taken and not applied again: had it started an apply, the next push would make two.
    const before = await applies();
    expect((await agent.put(desired)).status).toBe(202);
    await apply({ sites: desired.sites });
    expect(await applies()).toBe(before + 1);
  });

  it("switches a site's digest 100 times under load, its block with it every other time: every answer is the old body or the new, never an error", async () => {
    const others = [site("ns/beta", ["beta.example"], beta, betaUrl)];
    await apply({ sites: [site("ns/switch", ["switch.example"], beta, betaUrl), ...others] });
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let hammering = true;
    const hammer = async () => {
      while (hammering) {
        try {
          const res = await agent.page("switch.example");
          const key = `${res.status} ${res.body}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const loops = [hammer(), hammer(), hammer()];
    const reloadsBefore = await reloads();
    try {
      for (let i = 0; i < 100; i++) {
        const [want, url] = i % 2 === 0 ? [alpha, alphaUrl] : [beta, betaUrl];
        // Two switches of the digest alone (a link moves), then two with the server block (a reload, a link of its own).
        const spa = i % 4 >= 2;
        const { state } = await apply({ sites: [site("ns/switch", ["switch.example"], want, url, { spa }), ...others] });
        expect(siteOf(state, "ns/switch").digest).toBe(want.digest);
        // Reported is served: no worker answers from what it knew of the old tree (nginx's open file cache).
        expect((await agent.page("switch.example")).body, `after switch ${i}`).toBe(want.body);
      }
    } finally {
      hammering = false;
      await Promise.all(loops);
    }
    expect(failures).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([`200 ${alpha.body}`, `200 ${beta.body}`].sort());
    // spa changes at switches 2, 4, … 98: 49 reloads, and none for the 51 that move the digest alone.
    expect((await reloads()) - reloadsBefore).toBe(49);
    const answers = [...seen.values()].reduce((a, b) => a + b, 0);
    console.log(`digest switches: 100, answers seen during them: ${answers}`);
  });

  it("measures a push of a digest already in the store until its body is served (reported, not asserted)", async () => {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const want = i % 2 === 0 ? alpha : beta;
      const full = { generation: ++generation, sites: [site("ns/switch", ["switch.example"], want, i % 2 === 0 ? alphaUrl : betaUrl)] };
      const started = performance.now();
      expect((await agent.put(full)).status).toBe(202);
      while ((await agent.page("switch.example")).body !== want.body);
      times.push(performance.now() - started);
      await agent.waitForState(settledOn(full));
    }
    console.log(
      `push → new body served: median ${median(times).toFixed(1)} ms of 20 (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})`,
    );
  });

  it("coalesces the maps pushed while an apply runs into one next apply, of the newest", async () => {
    const slow = await siteArtifact("slow");
    let release!: () => void;
    artifacts.held.set("/slow.tgz", new Promise<void>((resolve) => (release = resolve)));
    const slowUrl = artifacts.add("slow.tgz", slow.data);
    const before = await applies();
    const first = { generation: ++generation, sites: [site("ns/slow", ["slow.example"], slow, slowUrl)] };
    expect((await agent.put(first)).status).toBe(202);
    // The first apply is now waiting for the held download.
    await artifacts.requested("/slow.tgz");
    let last = first;
    for (let i = 0; i < 5; i++) {
      last = { generation: ++generation, sites: [site("ns/slow", ["slow.example"], slow, slowUrl), site("ns/alpha", [`alpha-${i}.example`], alpha, alphaUrl)] };
      expect((await agent.put(last)).status).toBe(202);
    }
    expect((await agent.state()).desiredGeneration).toBe(last.generation);
    release();
    artifacts.held.delete("/slow.tgz");
    const state = await agent.waitForState(settledOn(last));
    expect(siteOf(state, "ns/alpha").hosts).toEqual(["alpha-4.example"]);
    expect(await applies()).toBe(before + 2);
    expect((await agent.page("slow.example")).body).toBe(slow.body);
  });

  it("refuses a tarball in the store whose content is not its digest, deletes it and fetches the artifact again", async () => {
    const gamma = await siteArtifact("gamma");
    const gammaUrl = artifacts.add("gamma.tgz", gamma.data);
    const stored = path.join(dirs.storeDir, `${gamma.digest.slice(7)}.tgz`);
    await writeFile(stored, (await siteArtifact("tampered")).data);
    artifacts.requests.length = 0;
    const { state } = await apply({ sites: [site("ns/gamma", ["gamma.example"], gamma, gammaUrl)] });
    expect(siteOf(state, "ns/gamma")).toMatchObject({ digest: gamma.digest });
    expect(siteOf(state, "ns/gamma").error).toBeUndefined();
    expect(artifacts.requests).toEqual(["/gamma.tgz"]);
    expect(sha256(await readFile(stored))).toBe(gamma.digest);
    expect((await agent.page("gamma.example")).body).toBe(gamma.body);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.apiPort}/metrics`, { headers: { "x-pagoda-pool-token": agent.token } })).text();
    expect(metrics).toMatch(/^pagoda_pool_store_tampered_total 1$/m);
  });

  it("with a tampered tarball and its URL down, reports the error and keeps serving the old digest, until the URL answers", async () => {
    const delta = await siteArtifact("delta");
    const stored = path.join(dirs.storeDir, `${delta.digest.slice(7)}.tgz`);
    await writeFile(stored, Buffer.from("not the artifact"));
    const gamma = [...artifacts.files.entries()].find(([p]) => p === "/gamma.tgz");
    expect(gamma).toBeDefined();
    const { state } = await apply({ sites: [site("ns/gamma", ["gamma.example"], delta, artifacts.url("delta-is-gone.tgz"))] });
    const s = siteOf(state, "ns/gamma");
    expect(s.error?.reason).toBe("ArtifactFetchFailed");
    expect(s.error?.message).toMatch(/HTTP 404/);
    expect(s.error?.message).not.toMatch(/signature/);
    expect(s.digest).toBe(sha256(gamma?.[1] ?? Buffer.alloc(0)));
    expect((await agent.page("gamma.example")).body).toContain("gamma");
    expect(await readdir(dirs.storeDir)).not.toContain(`${delta.digest.slice(7)}.tgz`);

    // Once the URL answers, the agent gets there by itself, without another push.
    artifacts.add("delta-is-gone.tgz", delta.data);
    const healed = await agent.waitForState((st) => siteOf(st, "ns/gamma").digest === delta.digest);
    expect(siteOf(healed, "ns/gamma").error).toBeUndefined();
    expect((await agent.page("gamma.example")).body).toBe(delta.body);
  });

  it("refuses an artifact whose bytes do not have the digest asked for (ArtifactInvalid), leaving nothing in the store", async () => {
    const epsilon = await siteArtifact("epsilon");
    const wrong = artifacts.add("epsilon.tgz", (await siteArtifact("not epsilon")).data);
    const { state } = await apply({ sites: [site("ns/epsilon", ["epsilon.example"], epsilon, wrong)] });
    const s = siteOf(state, "ns/epsilon");
    expect(s.error?.reason).toBe("ArtifactInvalid");
    expect(s.error?.message).toMatch(/digest mismatch/);
    expect(s.digest).toBeUndefined();
    expect((await readdir(dirs.storeDir)).filter((n) => n.includes(epsilon.digest.slice(7)) || n.endsWith(".tmp"))).toEqual([]);
    expect((await agent.page("epsilon.example")).status).toBe(404);
  });

  it("refuses an artifact with a link in it (ArtifactInvalid), keeping nothing unpacked", async () => {
    const data = await tarball([
      { name: "index.html", content: "<h1>linked</h1>" },
      { name: "passwd", type: "symlink", linkname: "/etc/passwd" },
    ]);
    const url = artifacts.add("linked.tgz", data);
    const digest = sha256(data);
    const { state } = await apply({ sites: [site("ns/linked", ["linked.example"], { digest, data, body: "" }, url)] });
    expect(siteOf(state, "ns/linked").error).toMatchObject({ reason: "ArtifactInvalid" });
    expect(siteOf(state, "ns/linked").error?.message).toMatch(/symlink/);
    expect(await readdir(path.join(dirs.workDir, "sites"))).not.toContain(digest.slice(7));
  });

  it("serves two sites with rules in one nginx, each by its own rules", async () => {
    const one = await siteArtifact("one", { "docs/index.html": "<p>docs one</p>" });
    const two = await siteArtifact("two");
    const { state } = await apply({
      sites: [
        site("ns/one", ["one.example"], one, artifacts.add("one.tgz", one.data), {
          notFoundPage: "/404.html",
          rules: { redirects: "/old /new 301\n/blog/* /news/:splat 302\n/store id=:id /products/:id 301\n", headers: "/*\n  X-Site: one\n" },
        }),
        site("ns/two", ["two.example"], two, artifacts.add("two.tgz", two.data), {
          spa: true,
          rules: {
            redirects: `/old /elsewhere 302\n/app/* /index.html 200\n/files/* http://127.0.0.1:${artifacts.port}/:splat 200\n`,
            headers: "/*\n  X-Site: two\n/private/*\n  ! X-Site\n",
          },
        }),
      ],
    });
    expect(state.sites.map((s) => s.error)).toEqual([undefined, undefined]);
    const cases: [string, string, number, Record<string, string | undefined>][] = [
      ["one.example", "/old?utm=x", 301, { location: "/new?utm=x", "x-site": "one" }],
      ["one.example", "/blog/2024/hello", 302, { location: "/news/2024/hello" }],
      ["one.example", "/store?id=42", 301, { location: "/products/42" }],
      ["one.example", "/app/x", 404, { "x-site": "one" }],
      ["one.example", "/_redirects", 404, {}],
      ["two.example", "/old", 302, { location: "/elsewhere", "x-site": "two" }],
      ["one.example", "/files/one.tgz", 404, {}],
      ["two.example", "/blog/2024/hello", 200, { location: undefined, "x-site": "two" }],
      ["two.example", "/store?id=42", 200, { location: undefined }],
      ["two.example", "/private/x", 200, { "x-site": undefined }],
    ];
    for (const [host, p, status, headers] of cases) {
      const res = await agent.page(host, p);
      expect(res.status, `${host}${p}`).toBe(status);
      for (const [name, value] of Object.entries(headers)) expect(res.headers[name], `${host}${p} ${name}`).toBe(value);
    }
    expect((await agent.page("one.example", "/nothing")).body).toContain("missing in one");
    expect((await agent.page("two.example", "/app/deep/link")).body).toBe(two.body);
    // Proxied to the origin the agent allows; the other site has no such rule.
    const proxied = await agent.page("two.example", "/files/one.tgz");
    expect(proxied.status).toBe(200);
    expect(proxied.headers["content-type"]).toBe("application/gzip");
    expect((await agent.page("one.example", "/files/one.tgz")).status).toBe(404);
  });

  it("keeps a site's previous server block when its new rules do not parse (ConfigInvalid)", async () => {
    const before = await agent.state();
    const one = siteOf(before, "ns/one");
    const { state } = await apply({
      sites: [site("ns/one", ["one.example"], beta, betaUrl, { rules: { redirects: "/a /b 999\n" } })],
    });
    const s = siteOf(state, "ns/one");
    expect(s.error?.reason).toBe("ConfigInvalid");
    expect(s.error?.message).toMatch(/_redirects line 1/);
    expect(s.digest).toBe(one.digest);
    const res = await agent.page("one.example", "/old");
    expect(res.status).toBe(301);
    expect(res.headers["x-site"]).toBe("one");
  });

  it("keeps what a site served when its new rules cannot be served, while the other sites go ahead (ConfigInvalid)", async () => {
    const before = siteOf(await agent.state(), "ns/one");
    // Once parsed and then refused by nginx (its capture names hold 32 characters, prefix included); now refused by the parser.
    // No input the parser takes is known to make nginx refuse the file, so this is the path a refused site takes.
    const name = "p".repeat(32);
    const gamma = await siteArtifact("gamma two");
    const { state } = await apply({
      sites: [
        site("ns/one", ["one.example"], beta, betaUrl, { rules: { redirects: `/x/:${name} /y/:${name} 301\n` } }),
        site("ns/other", ["other.example"], gamma, artifacts.add("gamma-two.tgz", gamma.data)),
      ],
    });
    const one = siteOf(state, "ns/one");
    expect(one.error?.reason).toBe("ConfigInvalid");
    expect(one.error?.message).toMatch(/longer than 29 characters/);
    expect(one.digest).toBe(before.digest);
    expect(siteOf(state, "ns/other")).toEqual({ key: "ns/other", digest: gamma.digest, hosts: ["other.example"] });
    expect((await agent.page("one.example", "/old")).status).toBe(301);
    expect((await agent.page("other.example")).body).toBe(gamma.body);
  });

  it("drops a site dropped from the map", async () => {
    const { state } = await apply({ sites: [site("ns/alpha", ["alpha.example"], alpha, alphaUrl)] });
    expect(state.sites.map((s) => s.key)).toEqual(["ns/alpha"]);
    expect((await agent.page("one.example")).status).toBe(404);
    expect((await agent.page("alpha.example")).body).toBe(alpha.body);
  });

  let dedicated: Artifact;
  let dedicatedUrl: string;

  it("mirrors a dedicated site's deploy on its own port, by digest only and never a shared site's, checked on every request", async () => {
    dedicated = await siteArtifact("dedicated");
    dedicatedUrl = artifacts.add("dedicated.tgz", dedicated.data);
    await apply({ sites: [site("ns/alpha", ["alpha.example"], alpha, alphaUrl), site("ns/dedicated", [], dedicated, dedicatedUrl)] });
    expect(await agent.untilMirrored(dedicated.digest)).toEqual(dedicated.data);
    const got = await agent.mirrored(dedicated.digest, "HEAD");
    expect([got.status, got.type, got.body.length]).toEqual([200, "application/gzip", 0]);
    // Not a shared site's deploy, nor any digest the map does not ask to mirror, nor another path or verb.
    expect((await agent.mirrored(alpha.digest)).status).toBe(404);
    expect((await agent.mirrored(sha256(Buffer.from("nothing")))).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${agent.mirrorPort}/v1/artifacts/sha256/../desired.json`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${agent.mirrorPort}${mirrorPath(dedicated.digest)}`, { method: "POST" })).status).toBe(405);
    // Its own pods serve a dedicated site: the pool serves nothing on its hosts and reports nothing for it.
    expect((await agent.state()).sites.map((x) => x.key)).toEqual(["ns/alpha"]);

    // Bytes changed on the node are never handed out: deleted, fetched again from the URL, then served.
    const stored = path.join(dirs.storeDir, `${dedicated.digest.slice(7)}.tgz`);
    await writeFile(stored, (await siteArtifact("tampered")).data);
    artifacts.requests.length = 0;
    expect((await agent.mirrored(dedicated.digest)).status).toBe(404);
    expect(await agent.untilMirrored(dedicated.digest)).toEqual(dedicated.data);
    expect(artifacts.requests).toContain("/dedicated.tgz");
    expect(await metric(/^pagoda_pool_mirror_requests_total\{result="missing"\} (\d+)$/m)).toBeGreaterThan(0);
  });

  it("after a restart with the artifact server stopped, serves every site again from the store", async () => {
    const gone = await siteArtifact("never stored");
    const sites = [
      site("ns/alpha", ["alpha.example"], alpha, alphaUrl),
      site("ns/beta", ["beta.example"], beta, betaUrl),
      site("ns/dedicated", [], dedicated, dedicatedUrl),
      site("ns/gone", ["gone.example"], gone, artifacts.url("never-served.tgz")),
    ];
    await apply({ sites });
    expect(await agent.untilMirrored(dedicated.digest)).toEqual(dedicated.data);
    expect(await agent.stop()).toBe(0);
    await artifacts.stop();
    // A new pod on the same node: the store is the node's, the work dir is new.
    agent = await startAgent({ storeDir: dirs.storeDir, workDir: path.join(dirs.root, "work-2") });
    const state = await agent.waitForState((s) => s.appliedGeneration === generation);
    // A long-poll with the previous agent's version is answered at once.
    expect((await agent.state(state.version + 1_000_000)).version).toBe(state.version);
    expect(state.sites).toEqual([
      { key: "ns/alpha", digest: alpha.digest, hosts: ["alpha.example"] },
      { key: "ns/beta", digest: beta.digest, hosts: ["beta.example"] },
      // Not in the store, and the URL does not answer: the error, while the others serve.
      { key: "ns/gone", hosts: [], error: { reason: "ArtifactFetchFailed", message: expect.stringMatching(/never-served\.tgz failed/) } },
    ]);
    expect((await fetch(`http://127.0.0.1:${agent.apiPort}/readyz`)).status).toBe(200);
    expect((await agent.page("alpha.example")).body).toBe(alpha.body);
    expect((await agent.page("beta.example")).body).toBe(beta.body);
    // And hands out the dedicated site's deploy, from the store alone.
    expect(await agent.mirrored(dedicated.digest)).toMatchObject({ status: 200, body: dedicated.data });
  });

  it("exits non-zero when nginx dies, so that the kubelet restarts the container", async () => {
    const pid = Number((await readFile(path.join(dirs.root, "work-2", "tmp", "nginx.pid"), "utf8")).trim());
    // Its workers outlive a killed master (in a pod the container's end takes them): stopped here, or they keep the ports.
    const workers = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).trim().split(/\s+/).filter(Boolean).map(Number);
    expect(workers.length).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    expect(await agent.exited).toBe(1);
    for (const worker of workers) {
      try {
        process.kill(worker, "SIGKILL");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
      }
    }
  });
});

describe("pool agent stopping", () => {
  it("on SIGTERM stops taking requests, lets nginx finish the one in flight, and exits 0", async () => {
    const artifacts = new ArtifactServer();
    await artifacts.start();
    const dirs = await tempDirs();
    const agent = await startAgent(dirs, { PAGODA_PROXY_ORIGINS: `http://127.0.0.1:${artifacts.port}` });
    try {
      const a = await siteArtifact("draining");
      const desired = {
        generation: 1,
        sites: [
          site("ns/drain", ["drain.example"], a, artifacts.add("a.tgz", a.data), {
            rules: { redirects: `/slow http://127.0.0.1:${artifacts.port}/slow.bin 200\n` },
          }),
        ],
      };
      expect((await agent.put(desired)).status).toBe(202);
      await agent.waitForState(settledOn(desired));
      // A request nginx is still answering (its origin holds the answer) when the pod is told to stop.
      let release!: () => void;
      artifacts.held.set("/slow.bin", new Promise<void>((resolve) => (release = resolve)));
      artifacts.files.set("/slow.bin", Buffer.from("the slow answer"));
      const inFlight = agent.page("drain.example", "/slow");
      await artifacts.requested("/slow.bin");
      agent.child.kill("SIGTERM");
      // The API closes first; nginx keeps the request until its answer is complete.
      while ((await request(agent.apiPort, { path: "/healthz" }).catch(() => undefined)) !== undefined);
      release();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.body).toBe("the slow answer");
      expect(await agent.exited).toBe(0);
      await expect(agent.page("drain.example")).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await agent.stop();
      await artifacts.stop();
      await rm(dirs.root, { recursive: true, force: true });
    }
  });
});

describe("pool agent memory (reported, not asserted)", () => {
  it("agent and nginx RSS with 0 and with 200 small sites", async () => {
    const artifacts = new ArtifactServer();
    await artifacts.start();
    const dirs = await tempDirs();
    const agent = await startAgent(dirs);
    try {
      const empty = await agent.put({ generation: 1, sites: [] });
      expect(empty.status).toBe(202);
      await agent.waitForState((s) => s.appliedGeneration === 1);
      const idle = await rssKiB(agent.child.pid ?? 0);
      const sites = [];
      for (let i = 0; i < 200; i++) {
        const a = await siteArtifact(`site ${i}`);
        sites.push(
          site(
            `ns/site-${i}`,
            [`site-${i}.example`],
            a,
            artifacts.add(`site-${i}.tgz`, a.data),
            i % 3 === 0 ? { rules: { redirects: "/old /new 301\n", headers: "/*\n  X-Site: s\n" } } : {},
          ),
        );
      }
      const desired = { generation: 2, sites };
      const started = performance.now();
      expect((await agent.put(desired)).status).toBe(202);
      const state = await agent.waitForState(settledOn(desired));
      const applyMs = performance.now() - started;
      expect(state.sites.filter((s) => s.error)).toEqual([]);
      expect((await agent.page("site-199.example")).body).toContain("site 199");
      const loaded = await rssKiB(agent.child.pid ?? 0);
      const mib = (r: { agent: number; nginx: number; nginxProcesses: number }) =>
        `agent ${(r.agent / 1024).toFixed(1)} MiB + nginx ${(r.nginx / 1024).toFixed(1)} MiB (${r.nginxProcesses} processes)`;
      console.log(`RSS with 0 sites: ${mib(idle)}; with 200 sites: ${mib(loaded)}; first apply of 200 sites, all fetched: ${applyMs.toFixed(0)} ms`);
    } finally {
      await agent.stop();
      await artifacts.stop();
      await rm(dirs.root, { recursive: true, force: true });
    }
  });
});
