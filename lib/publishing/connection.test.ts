import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClusterConnection } from "./connection";

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:16443
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: abc
contexts:
- name: ctx
  context: { cluster: c, user: u }
current-context: ctx
`;

describe("loadClusterConnection", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-kc-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("uses the file named by KUBECONFIG", async () => {
    const file = path.join(dir, "good");
    await writeFile(file, kubeconfig);
    const conn = loadClusterConnection({ KUBECONFIG: file, KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" });
    expect(conn).toMatchObject({ configured: true, source: "kubeconfig", server: "https://127.0.0.1:16443" });
  });

  it("reports a KUBECONFIG that does not exist, naming it", () => {
    const conn = loadClusterConnection({ KUBECONFIG: path.join(dir, "missing") });
    expect(conn).toMatchObject({ configured: false, misconfigured: true });
    expect(!conn.configured && conn.reason).toContain("missing");
  });

  it("reports a KUBECONFIG without a usable context", async () => {
    const file = path.join(dir, "empty");
    await writeFile(file, "apiVersion: v1\nkind: Config\n");
    const conn = loadClusterConnection({ KUBECONFIG: file });
    expect(conn).toMatchObject({ configured: false, misconfigured: true });
  });

  it("uses the service account in a pod", async () => {
    const root = path.join(dir, "root");
    const sa = path.join(root, "var/run/secrets/kubernetes.io/serviceaccount");
    await mkdir(sa, { recursive: true });
    await writeFile(path.join(sa, "token"), "t");
    await writeFile(path.join(sa, "ca.crt"), "");
    await writeFile(path.join(sa, "namespace"), "pagoda-system");
    const conn = loadClusterConnection({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, { inClusterRoot: root });
    expect(conn).toMatchObject({ configured: true, source: "in-cluster", server: "https://10.96.0.1:443" });
  });

  it("reports a pod without a service account token", () => {
    const conn = loadClusterConnection({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, { inClusterRoot: path.join(dir, "nowhere") });
    expect(conn).toMatchObject({ configured: false, misconfigured: true });
  });

  it("is simply not configured when nothing is set", () => {
    expect(loadClusterConnection({})).toMatchObject({ configured: false, misconfigured: false });
  });
});
