import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAgentMetrics } from "./metrics";
import { ArtifactError, ArtifactStore, chooseEvictions, DESIRED_FILE, urlForMessages, type StoredTarball } from "./store";
import { ArtifactServer, siteArtifact, type Artifact } from "./test-support";

const d = (n: number) => `sha256:${String(n).padStart(64, "0")}`;

describe("chooseEvictions", () => {
  const t = (n: number, bytes: number, usedAtMs: number): StoredTarball => ({ digest: d(n), bytes, usedAtMs });

  it("evicts least recently used first, only while over the limit", () => {
    const all = [t(1, 40, 300), t(2, 40, 100), t(3, 40, 200)];
    expect(chooseEvictions(all, new Set(), 80).map((x) => x.digest)).toEqual([d(2)]);
    expect(chooseEvictions(all, new Set(), 40).map((x) => x.digest)).toEqual([d(2), d(3)]);
    expect(chooseEvictions(all, new Set(), 120)).toEqual([]);
  });

  it("never evicts a tarball a site of the newest map wants, even over the limit", () => {
    const all = [t(1, 40, 300), t(2, 40, 100), t(3, 40, 200)];
    expect(chooseEvictions(all, new Set([d(2)]), 40).map((x) => x.digest)).toEqual([d(3), d(1)]);
    expect(chooseEvictions(all, new Set([d(1), d(2), d(3)]), 0)).toEqual([]);
  });
});

describe("urlForMessages", () => {
  it("drops the query and fragment, where signed URLs carry their credentials", () => {
    expect(urlForMessages("https://x.example/a/b.tgz?X-Amz-Signature=s&e=1")).toBe("https://x.example/a/b.tgz");
    expect(urlForMessages("https://x.example/a#frag")).toBe("https://x.example/a");
    expect(urlForMessages("https://x.example/a")).toBe("https://x.example/a");
  });
});

describe("ArtifactStore", () => {
  const server = new ArtifactServer();
  let dir: string;
  let store: ArtifactStore;
  let metrics: ReturnType<typeof createAgentMetrics>;
  let art: Artifact;

  beforeAll(async () => {
    await server.start();
    art = await siteArtifact("stored");
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-store-"));
    metrics = createAgentMetrics();
    store = new ArtifactStore({ dir, maxBytes: 1 << 30, metrics, attempts: 2, backoff: { baseMs: 1, maxMs: 1, jitter: 0 } });
    await store.init();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const count = async (name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.values.reduce((n, v) => n + v.value, 0);

  it("downloads, verifies and keeps an artifact, then serves it from the store", async () => {
    const url = server.add("ok.tgz", art.data);
    const file = await store.ensure(art.digest, url);
    expect(await readFile(file)).toEqual(art.data);
    server.requests.length = 0;
    expect(await store.ensure(art.digest, url)).toBe(file);
    expect(server.requests).toEqual([]);
    expect(await count("pagoda_pool_cache_hits_total")).toBe(1);
    expect(await count("pagoda_pool_cache_misses_total")).toBe(1);
  });

  it("deletes a stored tarball whose content is not its digest and fetches it again", async () => {
    await writeFile(store.tarballPath(art.digest), "tampered");
    expect(await store.verified(art.digest)).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
    await writeFile(store.tarballPath(art.digest), "tampered");
    const file = await store.ensure(art.digest, server.add("again.tgz", art.data));
    expect(await readFile(file)).toEqual(art.data);
    expect(await count("pagoda_pool_store_tampered_total")).toBe(2);
  });

  it("refuses bytes without the digest asked for as ArtifactInvalid, leaving nothing", async () => {
    const other = await siteArtifact("other");
    const failure = store.ensure(art.digest, server.add("wrong.tgz", other.data));
    await expect(failure).rejects.toThrow(ArtifactError);
    await expect(failure).rejects.toMatchObject({ reason: "ArtifactInvalid", message: expect.stringMatching(/digest mismatch/) });
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses an artifact over the size limit, leaving nothing", async () => {
    const small = new ArtifactStore({ dir, maxBytes: 1 << 30, metrics, maxArtifactBytes: 100 });
    await expect(small.ensure(art.digest, server.add("big.tgz", art.data))).rejects.toMatchObject({
      reason: "ArtifactInvalid",
      message: expect.stringMatching(/more than/),
    });
    // Without a Content-Length the limit is counted while streaming.
    server.chunked.add("/big-chunked.tgz");
    await expect(small.ensure(art.digest, server.add("big-chunked.tgz", art.data))).rejects.toMatchObject({
      reason: "ArtifactInvalid",
      message: expect.stringMatching(/more than the 100 bytes/),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it("reports a URL that does not answer as ArtifactFetchFailed without its query, after retrying", async () => {
    const url = server.url("missing.tgz");
    server.requests.length = 0;
    const failure = store.ensure(art.digest, url);
    await expect(failure).rejects.toMatchObject({ reason: "ArtifactFetchFailed", message: expect.stringMatching(/HTTP 404/) });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringMatching(/signature/) });
    // A 404 is the URL's answer, not a passing fault: one request.
    expect(server.requests).toEqual(["/missing.tgz"]);
    const down = store.ensure(art.digest, "http://127.0.0.1:1/a.tgz?signature=secret");
    await expect(down).rejects.toMatchObject({ reason: "ArtifactFetchFailed", retryable: true });
    await expect(down).rejects.not.toMatchObject({ message: expect.stringMatching(/secret/) });
    expect(await count("pagoda_pool_fetch_failures_total")).toBe(2);
  });

  it("evicts what no wanted site needs, least recently used first", async () => {
    const a = await siteArtifact("a");
    const b = await siteArtifact("b");
    await store.ensure(a.digest, server.add("a.tgz", a.data));
    await store.ensure(b.digest, server.add("b.tgz", b.data));
    const tight = new ArtifactStore({ dir, maxBytes: Math.max(a.data.length, b.data.length), metrics });
    expect(await tight.evict(new Set([a.digest]))).toEqual({ entries: 1, bytes: a.data.length });
    expect(await readdir(dir)).toEqual([`${a.digest.slice(7)}.tgz`]);
  });

  it("keeps the newest generation of the desired map, written atomically", async () => {
    await store.writeDesired({ generation: 5, sites: [] });
    await store.writeDesired({ generation: 3, sites: [] });
    expect((await store.readDesired())?.generation).toBe(5);
    await store.writeDesired({ generation: 6, sites: [] });
    expect((await store.readDesired())?.generation).toBe(6);
    expect(await readdir(dir)).toEqual([DESIRED_FILE]);
    await writeFile(path.join(dir, DESIRED_FILE), "{broken");
    expect(await store.readDesired()).toBeUndefined();
  });
});
