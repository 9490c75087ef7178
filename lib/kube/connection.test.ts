import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeConfig, type KubeConfigPolicy } from "./connection";

/** A kubeconfig file's text whose current context names `server`. */
function kubeconfig(server: string): string {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "c", server, skipTLSVerify: true }, { name: "u", token: "abc" });
  return kc.exportConfig();
}

describe("loadKubeConfig", () => {
  let dir: string;
  let home: string;
  let root: string;
  let file: string;
  const inPod = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
  const load = (policy: Partial<KubeConfigPolicy>) => loadKubeConfig({ defaultFile: false, inCluster: false, env: {}, home, inClusterRoot: root, ...policy });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-kubeconfig-"));
    home = path.join(dir, "home");
    await mkdir(path.join(home, ".kube"), { recursive: true });
    await writeFile(path.join(home, ".kube", "config"), kubeconfig("https://default.example:6443"));
    file = path.join(dir, "named");
    await writeFile(file, kubeconfig("https://named.example:6443"));
    root = path.join(dir, "root");
    const sa = path.join(root, "var/run/secrets/kubernetes.io/serviceaccount");
    await mkdir(sa, { recursive: true });
    await writeFile(path.join(sa, "token"), "t");
    await writeFile(path.join(sa, "ca.crt"), "");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prefers the named file over the default file and the service account", () => {
    expect(load({ file, defaultFile: true, inCluster: true, env: inPod })).toMatchObject({ ok: true, source: "file", server: "https://named.example:6443" });
  });

  it("reads ~/.kube/config only when the policy allows it", () => {
    expect(load({ defaultFile: true, inCluster: true, env: inPod })).toMatchObject({
      ok: true,
      source: "default-file",
      server: "https://default.example:6443",
    });
    expect(load({ defaultFile: false, inCluster: true, env: inPod })).toMatchObject({ ok: true, source: "in-cluster", server: "https://10.96.0.1:443" });
  });

  it("uses the service account only when the policy allows it", () => {
    expect(load({ inCluster: false, env: inPod })).toMatchObject({ ok: false, misconfigured: false });
  });

  it("leaves process.env as it found it", () => {
    const before = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    load({ inCluster: true, env: inPod });
    expect({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT }).toEqual(before);
  });

  it("refuses a list of files, a missing file and a file without a server, naming them", async () => {
    const several = load({ file: `${file}${path.delimiter}${file}` });
    expect(several).toMatchObject({ ok: false, misconfigured: true });
    expect(!several.ok && several.reason).toContain("lists several files");
    const missing = load({ file: path.join(dir, "missing") });
    expect(!missing.ok && missing.reason).toBe(`KUBECONFIG names ${path.join(dir, "missing")}, which does not exist`);
    const empty = path.join(dir, "empty");
    await writeFile(empty, "apiVersion: v1\nkind: Config\n");
    expect(load({ file: empty })).toMatchObject({ ok: false, misconfigured: true });
  });

  it("never falls back to http://localhost:8080 when nothing is there", () => {
    const none = load({ defaultFile: true, inCluster: true, home: path.join(dir, "nobody") });
    expect(none).toMatchObject({ ok: false, misconfigured: false });
    expect(!none.ok && none.reason).toBe("no cluster configured: none of KUBECONFIG, ~/.kube/config, an in-cluster service account is available");
  });
});
