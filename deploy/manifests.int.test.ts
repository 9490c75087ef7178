// The deploy/ manifests against a real control plane: every rendering
// (deploy/, the example overlay, the optional components, the Secret
// template) must pass a server-side dry run, the rendered RBAC must
// be least privilege on paper and in the API server's own authorizer, and the
// ServiceAccounts' real credentials must be enough for the dashboard's and the
// operator's actual work.
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, installCrds, startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { artifactStoreConfigFromEnv } from "@/lib/artifacts";
import { tenantPolicySettings } from "@/lib/publishing/site-inputs";
import { parseConfig } from "@/lib/config";
import { deleteStaticSite, publishSite, restoreSites } from "@/lib/publishing";
import { DASHBOARD_RULES, desiredSite, randomSuffix, readStaticSite } from "@/lib/publishing/int-test-support";
import { CONDITION_READY, findCondition } from "@/lib/staticsite/types";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { loadConfig } from "@/operator/config";
import { Clients, createSiteNamespace, httpMessage, siteSpec, waitFor } from "@/operator/int-test-support";
import { counterTotal } from "@/operator/metrics";
import { startOperator, type RunningOperator } from "@/operator/controller";
import { poolDomainNames } from "@/operator/pool/domains";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const deployDir = path.join(repoRoot, "deploy");
const kustomizeDir = path.join(deployDir, "kustomize");
const NAMESPACE = "pagoda";
const DASHBOARD_SA = `system:serviceaccount:${NAMESPACE}:pagoda-dashboard`;
const OPERATOR_SA = `system:serviceaccount:${NAMESPACE}:pagoda-operator`;
// The Prometheus Operator's own CRD, fetched as a Go module through the same
// proxy the cluster tooling builds from, so the ServiceMonitor is validated
// against the real schema.
const PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.85.0";
const ADMISSION_KINDS = ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

function must(result: RunResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** kustomize only accepts relative paths to other kustomizations. */
function rel(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join("/");
}

describe("deploy manifests against a real API server", () => {
  let cluster: TestCluster;
  let kubectlBin: string;
  let admin: Clients;
  let scratch: string;
  let serviceMonitorCrd: string;
  const operators: RunningOperator[] = [];

  const kubectl = (args: string[], input?: string, kubeconfig?: string) =>
    run(kubectlBin, args, { input, env: { ...process.env, KUBECONFIG: kubeconfig ?? cluster.kubeconfigPath } });

  // "resource/name" names an object for can-i; subresources are written
  // "resource#subresource" here and passed with --subresource.
  const canI = async (as: string, verb: string, resource: string, ns?: string) => {
    const [res, sub] = resource.split("#") as [string, string | undefined];
    const args = ["auth", "can-i", verb, res, ...(sub ? [`--subresource=${sub}`] : []), `--as=${as}`, ...(ns ? ["-n", ns] : ["--all-namespaces"])];
    const r = await kubectl(args);
    if (r.code > 1) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim() === "yes";
  };

  const render = async (dir: string) => must(await kubectl(["kustomize", dir]), `kubectl kustomize ${dir}`);

  /** YAML → objects, converted by kubectl itself so that no field is lost or reinterpreted. */
  async function parse(yaml: string): Promise<Manifest[]> {
    const out = must(await kubectl(["create", "--dry-run=client", "-o", 'jsonpath={@}{"\\n"}', "-f", "-"], yaml), "converting YAML");
    return out
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Manifest);
  }

  /** Server-side dry run; returns the objects the API server accepted, one line each. */
  async function dryRun(yaml: string, extraArgs: string[] = []): Promise<string[]> {
    const result = await kubectl(["apply", "--server-side", "--dry-run=server", "--field-manager=pagoda-deploy-test", ...extraArgs, "-f", "-"], yaml);
    expect(result.stderr, "the API server rejected objects").toBe("");
    expect(result.code).toBe(0);
    return result.stdout.split("\n").filter((line) => line.includes("(server dry run)"));
  }

  /** A kustomization in a temporary directory over deploy/ with some of its components. */
  async function withComponents(...components: string[]): Promise<string> {
    const dir = await mkdtemp(path.join(scratch, "overlay-"));
    const lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:", `  - ${rel(dir, deployDir)}`, "components:"];
    for (const c of components) lines.push(`  - ${rel(dir, path.join(kustomizeDir, "components", c))}`);
    await writeFile(path.join(dir, "kustomization.yaml"), `${lines.join("\n")}\n`);
    return dir;
  }

  const find = (objects: Manifest[], kind: string, name: string): Manifest => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`${kind}/${name} is not in the rendered manifests`);
    return found;
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
    // The kubectl the cluster tooling built (or took from KUBE_BIN_DIR) for
    // this very cluster: same version as the API server, kustomize built in.
    const env = must(
      await run("bash", [path.join(repoRoot, "local-cluster/pagoda-cluster"), "env"], { env: { ...process.env, PAGODA_CLUSTER_DIR: cluster.stateDir } }),
      "pagoda-cluster env",
    );
    const bin = /export PATH='([^']+)'/.exec(env)?.[1];
    if (!bin) throw new Error(`pagoda-cluster env printed no PATH:\n${env}`);
    kubectlBin = path.join(bin, "kubectl");
    admin = Clients.fromFile(cluster.kubeconfigPath);
    scratch = await mkdtemp(path.join(os.tmpdir(), "pagoda-deploy-test-"));

    const download = must(
      await run("go", ["mod", "download", "-json", PROMETHEUS_OPERATOR_MODULE]).catch((err: Error) => {
        throw new Error(`the ServiceMonitor check needs Go to fetch ${PROMETHEUS_OPERATOR_MODULE} (its CRD): ${err.message}`);
      }),
      "go mod download",
    );
    const dir = (JSON.parse(download) as { Dir?: string }).Dir;
    if (!dir) throw new Error(`go mod download gave no directory:\n${download}`);
    serviceMonitorCrd = path.join(dir, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml");
  });

  afterAll(async () => {
    for (const operator of operators) await operator.stop();
    await cluster?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("deploy/ renders every CRD of deploy/crds unchanged, plus the dashboard and operator", async () => {
    const objects = await parse(await render(deployDir));
    const crdFiles = (await readdir(path.join(deployDir, "crds"))).filter((f) => /\.ya?ml$/.test(f));
    expect(crdFiles.length).toBeGreaterThan(0);
    for (const file of crdFiles) {
      const [source] = await parse(await readFile(path.join(deployDir, "crds", file), "utf8"));
      expect(find(objects, "CustomResourceDefinition", source!.metadata.name)).toEqual(source);
    }
    const present = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(present).toEqual(
      expect.arrayContaining([
        "Namespace/pagoda",
        "ServiceAccount/pagoda-dashboard",
        "ServiceAccount/pagoda-operator",
        "ClusterRole/pagoda-dashboard",
        "ClusterRole/pagoda-operator",
        "Role/pagoda-operator-leader-election",
        "Deployment/pagoda-dashboard",
        "Deployment/pagoda-operator",
        "Service/pagoda-dashboard",
        "Ingress/pagoda-dashboard",
        "PersistentVolumeClaim/pagoda-artifacts",
        "NetworkPolicy/pagoda-dashboard",
        "NetworkPolicy/pagoda-operator",
        "ValidatingAdmissionPolicy/pagoda-namespaces-only",
        "ValidatingAdmissionPolicyBinding/pagoda-namespaces-only",
      ]),
    );
    // No Secret with real values is ever part of a rendering.
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    // The operator watches objects labelled managed-by=pagoda as its own
    // children; Pagoda's own objects must never carry that label.
    for (const o of objects) expect(o.metadata.labels?.["app.kubernetes.io/managed-by"], `${o.kind}/${o.metadata.name}`).toBeUndefined();
    const clusterScoped = new Set(["CustomResourceDefinition", "Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
    for (const o of objects.filter((x) => !clusterScoped.has(x.kind) && !x.kind.startsWith("Cluster"))) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
    }
  });

  it("every rendering passes a server-side dry run", async () => {
    // Namespaced objects cannot be dry-run into a namespace that does not
    // exist yet, so the Namespace itself is applied for real first.
    const base = await render(deployDir);
    const namespace = (await parse(base)).filter((o) => o.kind === "Namespace");
    must(await kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: namespace })), "namespace");
    const crdDir = await mkdtemp(path.join(scratch, "crds-"));
    await copyFile(serviceMonitorCrd, path.join(crdDir, path.basename(serviceMonitorCrd)));
    await installCrds(admin.kc, crdDir);

    const everything = await withComponents("s3-artifacts", "servicemonitor", "serving-pool");

    const renderings: Array<[string, string]> = [
      ["deploy/", base],
      ["overlays/example", await render(path.join(kustomizeDir, "overlays/example"))],
      ["deploy/ + s3-artifacts + servicemonitor + serving-pool", await render(everything)],
    ];
    // The pool's namespace too, for the objects the serving-pool component puts in it.
    const poolNamespace = (await parse(renderings[2]![1])).filter((o) => o.kind === "Namespace" && !namespace.some((n) => n.metadata.name === o.metadata.name));
    expect(poolNamespace.map((n) => n.metadata.name)).toEqual(["pagoda-serving"]);
    must(await kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: poolNamespace })), "pool namespace");
    for (const [name, yaml] of renderings) {
      const objects = await parse(yaml);
      const accepted = await dryRun(yaml);
      expect(accepted.length, `${name}: objects accepted`).toBe(objects.length);
    }

    expect(await dryRun(await readFile(path.join(kustomizeDir, "secret.example.yaml"), "utf8"))).toHaveLength(1);
  });

  it("the components and the example overlay change what they say they change", async () => {
    const everything = await parse(await render(await withComponents("s3-artifacts")));
    expect(everything.some((o) => o.kind === "PersistentVolumeClaim")).toBe(false);
    const dashboard = find(everything, "Deployment", "pagoda-dashboard") as Manifest & { spec: DeploymentSpec };
    expect(dashboard.spec.replicas).toBe(2);
    expect(dashboard.spec.strategy?.type).toBe("RollingUpdate");
    expect(JSON.stringify(dashboard.spec.template.spec.volumes)).not.toContain("persistentVolumeClaim");
    const s3Env = envOf(everything, "pagoda-dashboard", { DATABASE_URL: "postgresql://u@db:5432/pagoda" });
    expect(artifactStoreConfigFromEnv(s3Env as NodeJS.ProcessEnv)).toEqual(expect.objectContaining({ driver: "s3", bucket: "pagoda-artifacts" }));

    const example = await parse(await render(path.join(kustomizeDir, "overlays/example")));
    for (const name of ["pagoda-dashboard", "pagoda-operator"]) {
      const dep = find(example, "Deployment", name) as Manifest & { spec: DeploymentSpec };
      expect(dep.spec.template.spec.containers[0]?.image).toBe("registry.example.com/pagoda:0.1.0");
    }
    const operatorConfig = loadConfig(envOf(example, "pagoda-operator"));
    expect(operatorConfig).toEqual(expect.objectContaining({ tls: true, clusterIssuer: "letsencrypt", ingressClass: "nginx" }));
  });

  it("the rendered configuration is valid for the dashboard and the operator", async () => {
    const objects = await parse(await render(deployDir));
    const secrets = {
      DATABASE_URL: "postgresql://pagoda@postgres:5432/pagoda",
      NEXTAUTH_SECRET: "x".repeat(32),
      PAGODA_ARTIFACT_SECRET: "y".repeat(32),
    };
    const dashboardEnv = envOf(objects, "pagoda-dashboard", secrets);
    const dashboard = parseConfig(dashboardEnv);
    expect(dashboard.PAGODA_ARTIFACT_BASE_URL).toBe("http://pagoda-dashboard.pagoda.svc:3000");
    // Without the pool nothing would serve a shared site, so new sites are dedicated; with it, shared.
    expect(dashboard.PAGODA_SITE_SERVING).toBe("dedicated");
    const withPool = parseConfig(envOf(await parse(await render(await withComponents("serving-pool"))), "pagoda-dashboard", secrets));
    expect(withPool.PAGODA_SITE_SERVING).toBe("shared");
    expect(withPool.PAGODA_POOL_NAMESPACE).toBe("pagoda-serving");
    expect(artifactStoreConfigFromEnv(dashboardEnv as NodeJS.ProcessEnv)).toEqual({ driver: "fs", root: "/var/lib/pagoda/artifacts" });
    // The fs store's root is on the volume, not on the read-only root filesystem.
    const dep = find(objects, "Deployment", "pagoda-dashboard") as Manifest & { spec: DeploymentSpec };
    const mounts = dep.spec.template.spec.containers[0]?.volumeMounts ?? [];
    expect(mounts.find((m) => m.mountPath === "/var/lib/pagoda/artifacts")?.name).toBe("artifacts");

    const operator = loadConfig(envOf(objects, "pagoda-operator"));
    const leaseRole = find(objects, "Role", "pagoda-operator-leader-election") as Manifest & { rules: PolicyRule[] };
    expect(leaseRole.rules.flatMap((r) => r.resourceNames ?? [])).toEqual([operator.leaseName]);
    expect(operator.leaseNamespace).toBe(NAMESPACE);
    expect(operator.leaderElection).toBe(true);

    for (const name of ["pagoda-dashboard", "pagoda-operator"]) {
      const d = find(objects, "Deployment", name) as Manifest & { spec: DeploymentSpec };
      const pod = d.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext?.readOnlyRootFilesystem, name).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
        expect(c.securityContext?.capabilities?.drop, name).toEqual(["ALL"]);
        expect(c.resources?.requests, name).toBeDefined();
        expect(c.resources?.limits?.memory, name).toBeDefined();
        expect(c.readinessProbe, name).toBeDefined();
        expect(c.livenessProbe, name).toBeDefined();
        expect(
          c.volumeMounts?.some((m) => m.mountPath === "/tmp"),
          name,
        ).toBe(true);
      }
      expect(pod.serviceAccountName).toBe(name);
    }
  });

  it("the rendered RBAC grants nothing beyond the documented needs", async () => {
    const objects = await parse(await render(deployDir));
    const rules = (kind: string, name: string) => (find(objects, kind, name) as Manifest & { rules: PolicyRule[] }).rules;
    const flat = (rs: PolicyRule[]) =>
      rs.flatMap((r) =>
        (r.apiGroups ?? [""]).flatMap((g) =>
          (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g || "core"}/${res}:${v}${r.resourceNames ? `@${r.resourceNames.join(",")}` : ""}`)),
        ),
      );

    const crud = ["get", "list", "watch", "create", "update", "patch", "delete"];
    // Exactly the rules the dashboard's own integration tests prove sufficient.
    expect(flat(rules("ClusterRole", "pagoda-dashboard")).sort()).toEqual(flat(DASHBOARD_RULES as PolicyRule[]).sort());
    expect(flat(rules("ClusterRole", "pagoda-dashboard"))).not.toEqual(expect.arrayContaining(["core/namespaces:delete"]));
    const operator = flat(rules("ClusterRole", "pagoda-operator"));
    expect(operator.sort()).toEqual(
      [
        ...["get", "list", "watch"].map((v) => `pagoda.dev/staticsites:${v}`),
        ...["update", "patch"].map((v) => `pagoda.dev/staticsites/status:${v}`),
        ...["get", "list", "watch"].map((v) => `core/namespaces:${v}`),
        ...crud.flatMap((v) => [
          `core/configmaps:${v}`,
          `core/services:${v}`,
          `apps/deployments:${v}`,
          `networking.k8s.io/ingresses:${v}`,
          `policy/poddisruptionbudgets:${v}`,
          `cert-manager.io/certificates:${v}`,
        ]),
        ...["get", "list", "watch"].flatMap((v) => [`core/pods:${v}`, `apps/replicasets:${v}`]),
        ...["create", "patch"].map((v) => `events.k8s.io/events:${v}`),
      ].sort(),
    );
    for (const rule of [...rules("ClusterRole", "pagoda-dashboard"), ...rules("ClusterRole", "pagoda-operator")]) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.resources).not.toContain("secrets");
      expect(rule.apiGroups).not.toContain("*");
    }
    // Leases are granted in the operator's namespace only, by a Role.
    expect(objects.filter((o) => o.kind === "ClusterRole").flatMap((o) => flat((o as unknown as { rules: PolicyRule[] }).rules))).not.toEqual(
      expect.arrayContaining([expect.stringContaining("leases")]),
    );
    expect(flat(rules("Role", "pagoda-operator-leader-election")).sort()).toEqual(
      ["coordination.k8s.io/leases:create", "coordination.k8s.io/leases:get@pagoda-operator", "coordination.k8s.io/leases:update@pagoda-operator"].sort(),
    );
  });

  it("the API server's authorizer agrees, and the real credentials are enough for the real work", async () => {
    // RBAC objects and ServiceAccounts applied for real (Deployments are not:
    // with no node they would only sit Pending).
    const objects = await parse(await render(deployDir));
    const rbacKinds = new Set(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", ...ADMISSION_KINDS]);
    must(
      await kubectl(
        ["apply", "--server-side", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: objects.filter((o) => rbacKinds.has(o.kind)) }),
      ),
      "applying RBAC",
    );
    const tenant = await createTestNamespace(admin.kc, "rbac");

    // The authorizer works from an informer cache: wait until the bindings are seen.
    await waitFor("RBAC to take effect", async () => ((await canI(OPERATOR_SA, "list", "staticsites.pagoda.dev")) ? true : undefined));
    // The admission policy is loaded asynchronously too: wait until it refuses
    // a write that RBAC allows (a dry run, so nothing is written either way).
    await waitFor("the admission policy to take effect", async () => {
      const probe = await kubectl(["create", "configmap", "probe", "-n", "default", `--as=${OPERATOR_SA}`, "--dry-run=server"]);
      return probe.code !== 0 && probe.stderr.includes("pagoda-namespaces-only") ? true : undefined;
    });

    const expectations: Array<[string, string, string, string | undefined, boolean]> = [
      [DASHBOARD_SA, "create", "namespaces", undefined, true],
      [DASHBOARD_SA, "patch", "namespaces", undefined, true],
      [DASHBOARD_SA, "delete", "namespaces", undefined, false],
      [DASHBOARD_SA, "list", "staticsites.pagoda.dev", undefined, true],
      [DASHBOARD_SA, "watch", "staticsites.pagoda.dev", undefined, true],
      [DASHBOARD_SA, "patch", "staticsites.pagoda.dev", tenant, true],
      [DASHBOARD_SA, "delete", "staticsites.pagoda.dev", tenant, true],
      [DASHBOARD_SA, "patch", "staticsites.pagoda.dev#status", tenant, false],
      [DASHBOARD_SA, "patch", "networkpolicies.networking.k8s.io", tenant, true],
      [DASHBOARD_SA, "delete", "networkpolicies.networking.k8s.io", tenant, false],
      [DASHBOARD_SA, "get", "secrets", NAMESPACE, false],
      [DASHBOARD_SA, "list", "secrets", undefined, false],
      [DASHBOARD_SA, "list", "pods", tenant, false],
      [DASHBOARD_SA, "create", "deployments.apps", tenant, false],
      [DASHBOARD_SA, "get", "configmaps", NAMESPACE, false],
      [OPERATOR_SA, "watch", "staticsites.pagoda.dev", undefined, true],
      [OPERATOR_SA, "patch", "staticsites.pagoda.dev#status", tenant, true],
      [OPERATOR_SA, "create", "staticsites.pagoda.dev", tenant, false],
      [OPERATOR_SA, "patch", "staticsites.pagoda.dev", tenant, false],
      [OPERATOR_SA, "get", "secrets", tenant, false],
      [OPERATOR_SA, "list", "secrets", undefined, false],
      [OPERATOR_SA, "create", "namespaces", undefined, false],
      [OPERATOR_SA, "patch", "namespaces", undefined, false],
      [OPERATOR_SA, "watch", "namespaces", undefined, true],
      [DASHBOARD_SA, "patch", "resourcequotas", tenant, true],
      [DASHBOARD_SA, "patch", "limitranges", tenant, true],
      [DASHBOARD_SA, "delete", "resourcequotas", tenant, false],
      [OPERATOR_SA, "patch", "deployments.apps", tenant, true],
      [OPERATOR_SA, "delete", "ingresses.networking.k8s.io", tenant, true],
      [OPERATOR_SA, "create", "poddisruptionbudgets.policy", tenant, true],
      [OPERATOR_SA, "list", "pods", undefined, true],
      [OPERATOR_SA, "delete", "pods", tenant, false],
      [OPERATOR_SA, "create", "pods#exec", tenant, false],
      [OPERATOR_SA, "watch", "replicasets.apps", undefined, true],
      [OPERATOR_SA, "create", "events.events.k8s.io", tenant, true],
      [OPERATOR_SA, "get", "leases.coordination.k8s.io/pagoda-operator", NAMESPACE, true],
      [OPERATOR_SA, "update", "leases.coordination.k8s.io/pagoda-operator", NAMESPACE, true],
      [OPERATOR_SA, "update", "leases.coordination.k8s.io/someone-else", NAMESPACE, false],
      [OPERATOR_SA, "create", "leases.coordination.k8s.io", tenant, false],
    ];
    const answers = await Promise.all(expectations.map(([as, verb, res, ns]) => canI(as, verb, res, ns)));
    expect(expectations.map(([as, verb, res, ns], i) => `${as.split(":").pop()} ${verb} ${res} ${ns ?? "*"}: ${answers[i]}`)).toEqual(
      expectations.map(([as, verb, res, ns, want]) => `${as.split(":").pop()} ${verb} ${res} ${ns ?? "*"}: ${want}`),
    );

    // Real tokens of the two ServiceAccounts, used exactly as the pods would.
    const dashboardKc = new KubeConfig();
    dashboardKc.loadFromFile(await saKubeconfig("pagoda-dashboard"));
    const dashboard = new Clients(dashboardKc);
    const operatorKc = new KubeConfig();
    operatorKc.loadFromFile(await saKubeconfig("pagoda-operator"));

    // The dashboard's own code, configured from the rendered ConfigMap:
    // create the tenant namespace with its NetworkPolicy and publish a site,
    // then a restore pass (lists namespaces, policies and sites, deletes orphans).
    const slug = `t${randomSuffix()}`;
    const siteNs = tenantNamespace(slug);
    const secrets = { DATABASE_URL: "postgresql://pagoda@postgres:5432/pagoda", NEXTAUTH_SECRET: "x".repeat(32), PAGODA_ARTIFACT_SECRET: "y".repeat(32) };
    const dashboardConfig = parseConfig(envOf(objects, "pagoda-dashboard", secrets));
    const tenantPolicy = tenantPolicySettings(dashboardConfig);
    expect(tenantPolicy).toEqual({ ingressNamespace: "ingress-nginx", dashboardNamespace: NAMESPACE });
    // Hosts the dashboard gives sites are ones the operator serves.
    expect(loadConfig(envOf(objects, "pagoda-operator")).baseDomain).toBe(dashboardConfig.PAGODA_BASE_DOMAIN);
    const desired = desiredSite(slug, "docs", { tenantPolicy, baseDomain: dashboardConfig.PAGODA_BASE_DOMAIN });
    expect((await publishSite(dashboardKc, desired)).written).toBe(true);
    const policy = await admin.networking.readNamespacedNetworkPolicy({ name: "pagoda-sites", namespace: siteNs });
    expect(policy.metadata?.managedFields?.map((f) => f.manager)).toContain("pagoda-dashboard");
    await waitFor(`ServiceAccount default in ${siteNs}`, () => admin.core.readNamespacedServiceAccount({ name: "default", namespace: siteNs }), 60_000);
    const restored = await restoreSites(dashboardKc, [desired]);
    expect(restored.errors).toEqual([]);
    await expect(dashboard.core.listNamespacedSecret({ namespace: NAMESPACE })).rejects.toMatchObject({ code: 403 });

    // The operator, configured from the rendered ConfigMap and Deployment,
    // with the operator's token: it must lead, build every child and write
    // status without a single refused request.
    const config = { ...loadConfig(envOf(objects, "pagoda-operator")), port: 0, leaseDurationMs: 3_000, leaseRenewMs: 2_000 };
    const operator = await startOperator(config, { kubeConfig: operatorKc });
    operators.push(operator);
    await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
    const lease = await admin.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: config.leaseName, namespace: NAMESPACE });
    expect(lease.spec?.holderIdentity).toBe(config.identity);

    await waitFor("Deployment", () => admin.apps.readNamespacedDeployment({ name: "docs", namespace: siteNs }));
    await waitFor("Service", () => admin.core.readNamespacedService({ name: "docs", namespace: siteNs }));
    await waitFor("Ingress", () => admin.networking.readNamespacedIngress({ name: "docs", namespace: siteNs }));
    const site = await waitFor("status written by the operator, read by the dashboard", async () => {
      const s = await readStaticSite(dashboardKc, slug, "docs");
      return s && s.status?.observedGeneration === s.metadata.generation && findCondition(s.status, CONDITION_READY) ? s : undefined;
    });
    expect(site.status?.conditions?.length).toBeGreaterThan(0);
    await operator.idle();
    // A refused list keeps a cache unsynced (readyz 503); a refused watch
    // restarts that watch (readyz only notices after the stall timeout); a
    // refused write counts as a reconcile error.
    const ready = await fetch(`http://127.0.0.1:${operator.port}/readyz`);
    expect(ready.status, await ready.text()).toBe(200);
    expect(await counterTotal(operator.metrics.watchRestarts)).toBe(0);
    expect(await counterTotal(operator.metrics.reconcileErrors)).toBe(0);
    expect(await counterTotal(operator.metrics.reconciles)).toBeGreaterThan(0);

    // The tenant namespace is held to Pod Security "restricted", with a quota
    // and a limit range, and the operator's pods pass: the ReplicaSet
    // controller gets them admitted (they stay Pending without a node).
    const nsObject = await admin.core.readNamespace({ name: siteNs });
    expect(nsObject.metadata?.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.35",
    });
    const quota = await admin.core.readNamespacedResourceQuota({ name: "pagoda-tenant", namespace: siteNs });
    expect(quota.spec?.hard).toMatchObject({ pods: "100", persistentvolumeclaims: "0", "count/deployments.apps": "50" });
    // StaticSites are not counted (see desiredTenantQuota): a custom resource
    // in the quota stalls a fresh cluster's first tenant.
    expect(quota.spec?.hard).not.toHaveProperty(["count/staticsites.pagoda.dev"]);
    const limits = await admin.core.readNamespacedLimitRange({ name: "pagoda-tenant", namespace: siteNs });
    expect(limits.spec?.limits[0]?.max).toEqual({ cpu: "500m", memory: "64Mi" });
    const pods = await waitFor("the site's pods to be admitted", async () => {
      const list = await admin.core.listNamespacedPod({ namespace: siteNs, labelSelector: "app.kubernetes.io/name=docs" });
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(pods[0]?.spec?.containers[0]?.securityContext?.capabilities?.drop).toEqual(["ALL"]);
    // The same namespace refuses a pod that is not restricted: the labels are enforced, not decoration.
    const refused = await admin.core
      .createNamespacedPod({
        namespace: siteNs,
        dryRun: "All",
        body: {
          metadata: { name: "loose" },
          spec: { containers: [{ name: "c", image: "busybox:1.37", resources: { limits: { cpu: "100m", memory: "32Mi" } } }] },
        },
      })
      .then(
        () => undefined,
        (err: unknown) => err as { code?: number; body?: unknown },
      );
    expect(refused?.code).toBe(403);
    expect(httpMessage(refused)).toMatch(/violates PodSecurity "restricted:v1\.35"/);

    expect(await deleteStaticSite(dashboardKc, slug, "docs")).toBe(true);
  });

  it("the admission policy keeps both ServiceAccounts' writes inside Pagoda's namespaces", async () => {
    // Applied by the previous test, together with RBAC that allows every one
    // of these writes: what refuses them here is the policy.
    const dashboard = new Clients(kubeConfigOf(await saKubeconfig("pagoda-dashboard")));
    const operator = new Clients(kubeConfigOf(await saKubeconfig("pagoda-operator")));
    const foreign = await createTestNamespace(admin.kc, "not-pagoda");
    const slug = `v${randomSuffix()}`;
    const tenantNs = tenantNamespace(slug);
    await publishSite(dashboard.kc, desiredSite(slug, "ok"));

    const refusal = async (what: string, write: () => Promise<unknown>) => {
      const err = await write().then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: unknown },
      );
      expect(err, `${what} should be refused`).toBeDefined();
      expect(err?.code, what).toBe(403);
      expect(String(err?.body), what).toContain("pagoda-namespaces-only");
      return String(err?.body);
    };
    const configMap = (name: string) => ({ metadata: { name }, data: { a: "b" } });

    // The operator: its children's kinds anywhere but a Pagoda namespace.
    const outside = await refusal("operator: ConfigMap in a foreign namespace", () =>
      operator.core.createNamespacedConfigMap({ namespace: foreign, body: configMap("evil") }),
    );
    expect(outside).toContain(`namespace ${foreign}`);
    await refusal("operator: Service in kube-system", () =>
      operator.core.createNamespacedService({ namespace: "kube-system", body: { metadata: { name: "evil" }, spec: { ports: [{ port: 80 }] } } }),
    );
    await refusal("operator: Ingress in Pagoda's own namespace", () =>
      operator.networking.createNamespacedIngress({
        namespace: NAMESPACE,
        body: { metadata: { name: "evil" }, spec: { defaultBackend: { service: { name: "x", port: { number: 80 } } } } },
      }),
    );
    // ... and the same kind inside one is fine.
    await operator.core.createNamespacedConfigMap({ namespace: tenantNs, body: configMap("allowed") });
    await operator.core.deleteNamespacedConfigMap({ namespace: tenantNs, name: "allowed" });

    // The dashboard: StaticSites and policies outside, and claiming or loosening namespaces.
    await refusal("dashboard: StaticSite in a foreign namespace", () =>
      dashboard.applySite(foreign, "intruder", { artifact: { url: "http://x.example/a.tgz", digest: `sha256:${"a".repeat(64)}` } }),
    );
    await refusal("dashboard: NetworkPolicy in kube-system", () =>
      dashboard.networking.createNamespacedNetworkPolicy({ namespace: "kube-system", body: { metadata: { name: "evil" }, spec: { podSelector: {} } } }),
    );
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    // Even a namespace with a tenant's name, labelled exactly as the dashboard
    // labels its own, cannot be claimed: it was not Pagoda's before.
    const unclaimed = `pagoda-c${slug}`;
    await admin.core.createNamespace({ body: { metadata: { name: unclaimed } } });
    const tenantLabels = { "app.kubernetes.io/managed-by": "pagoda", "pagoda.dev/tenant": `c${slug}`, "pod-security.kubernetes.io/enforce": "restricted" };
    await refusal("dashboard: labelling someone else's namespace as Pagoda's", () =>
      dashboard.core.patchNamespace({ name: unclaimed, body: { metadata: { labels: tenantLabels } } }, merge),
    );
    await refusal("dashboard: taking Pod Security off a tenant namespace", () =>
      dashboard.core.patchNamespace({ name: tenantNs, body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } } }, merge),
    );
    await refusal("dashboard: a namespace not named after its tenant", () =>
      dashboard.core.createNamespace({
        body: {
          metadata: {
            name: `evil-${slug}`,
            labels: { "app.kubernetes.io/managed-by": "pagoda", "pagoda.dev/tenant": slug, "pod-security.kubernetes.io/enforce": "restricted" },
          },
        },
      }),
    );
    await refusal("dashboard: a tenant namespace without Pod Security", () =>
      dashboard.core.createNamespace({
        body: { metadata: { name: `pagoda-x${slug}`, labels: { "app.kubernetes.io/managed-by": "pagoda", "pagoda.dev/tenant": `x${slug}` } } },
      }),
    );
    // Nothing of the refused writes exists.
    expect((await admin.core.listNamespacedConfigMap({ namespace: foreign })).items.map((c) => c.metadata?.name)).not.toContain("evil");
    expect((await admin.core.readNamespace({ name: unclaimed })).metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
    expect((await admin.core.readNamespace({ name: tenantNs })).metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    // Impersonation goes through the same policy.
    const asDashboard = await kubectl(["create", "configmap", "evil", "-n", foreign, `--as=${DASHBOARD_SA}`]);
    expect(asDashboard.code).not.toBe(0);
    expect(asDashboard.stderr).toMatch(/forbidden|pagoda-namespaces-only/);
  });

  it("the admission policy names the ServiceAccounts the ClusterRoleBindings bind", async () => {
    const objects = await parse(await render(deployDir));
    const policy = find(objects, "ValidatingAdmissionPolicy", "pagoda-namespaces-only") as Manifest & { spec: { matchConditions: { expression: string }[] } };
    const named = [
      ...policy.spec.matchConditions
        .map((c) => c.expression)
        .join(" ")
        .matchAll(/"(system:serviceaccount:[^"]+)"/g),
    ]
      .map((m) => m[1])
      .sort();
    const bound = objects
      .filter((o) => o.kind === "ClusterRoleBinding")
      .flatMap((o) => (o as unknown as { subjects: { kind: string; name: string; namespace: string }[] }).subjects)
      .map((sub) => `system:serviceaccount:${sub.namespace}:${sub.name}`)
      .sort();
    expect(named).toEqual(bound);
  });

  it("with the serving-pool component, the operator's real credentials build the pool in its namespace and serve a shared site from it", async () => {
    // Last: it widens the admission policy to the pool's namespace. The operator of an earlier test holds the Lease.
    for (const o of operators.splice(0)) await o.stop();
    const objects = await parse(await render(await withComponents("serving-pool")));
    const config = { ...loadConfig(envOf(objects, "pagoda-operator")), port: 0, leaseDurationMs: 3_000, leaseRenewMs: 2_000 };
    expect(config.pool).toEqual(expect.objectContaining({ image: "registry.example.com/pagoda-pool:0.1.0", namespace: "pagoda-serving", replicas: 2 }));
    const poolNs = config.pool!.namespace;
    const namespace = find(objects, "Namespace", poolNs);
    expect(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    // Not a tenant namespace: the operator would reconcile StaticSites in it.
    expect(namespace.metadata.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();

    const applied = new Set(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "NetworkPolicy", ...ADMISSION_KINDS]);
    must(
      await kubectl(
        ["apply", "--server-side", "--force-conflicts", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: objects.filter((o) => applied.has(o.kind)) }),
      ),
      "applying the pool's RBAC, policies and Namespace",
    );
    await waitFor("the pool's RBAC to take effect", async () => ((await canI(OPERATOR_SA, "create", "secrets", poolNs)) ? true : undefined));
    const tenant = await createSiteNamespace(admin.kc, "pool");
    const expectations: Array<[string, string, string | undefined, boolean]> = [
      ["create", "secrets", poolNs, true],
      ["get", "secrets/pagoda-pool-token", poolNs, true],
      ["get", "secrets/other", poolNs, false],
      ["list", "secrets", poolNs, false],
      ["create", "secrets", tenant, false],
      ["patch", `namespaces/${poolNs}`, undefined, true],
      ["patch", "namespaces/default", undefined, false],
      ["patch", "deployments.apps", poolNs, true],
    ];
    const answers = await Promise.all(expectations.map(([verb, res, ns]) => canI(OPERATOR_SA, verb, res, ns)));
    expect(expectations.map(([verb, res, ns], i) => `${verb} ${res} ${ns ?? "*"}: ${answers[i]}`)).toEqual(
      expectations.map(([verb, res, ns, want]) => `${verb} ${res} ${ns ?? "*"}: ${want}`),
    );

    const operator = await startOperator(config, { kubeConfig: kubeConfigOf(await saKubeconfig("pagoda-operator")) });
    operators.push(operator);
    await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
    const host = `shared-${tenant}.${config.baseDomain}`;
    const domain = `www.${tenant}.customer.test`;
    await admin.applySite(tenant, "shared", siteSpec({ hosts: [host], serving: "shared", domains: [domain] }));

    const deployment = await waitFor("the pool's Deployment", () => admin.apps.readNamespacedDeployment({ name: "pagoda-pool", namespace: poolNs }));
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(config.pool!.image);
    await waitFor("the pool's Service", () => admin.core.readNamespacedService({ name: "pagoda-pool", namespace: poolNs }));
    const ingress = await waitFor("the pool's Ingress", () => admin.networking.readNamespacedIngress({ name: "pagoda-pool", namespace: poolNs }));
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual([`*.${config.baseDomain}`]);
    await waitFor("the pool's token", () => admin.core.readNamespacedSecret({ name: "pagoda-pool-token", namespace: poolNs }));
    // No node here: the pool's pods stay Pending, and the site says so; Pod Security "restricted" admits them.
    const site = await waitFor("the shared site's status", async () => {
      const s = await admin.getSite(tenant, "shared");
      if (findCondition(s.status, CONDITION_READY)?.reason === "PoolUnavailable") return s;
      throw new Error(`status: ${JSON.stringify(s.status)}`);
    });
    expect(site.status?.observedGeneration).toBe(site.metadata.generation);
    await waitFor("the pool's pods to be admitted", async () => {
      const list = await admin.core.listNamespacedPod({ namespace: poolNs });
      return list.items.length === config.pool!.replicas ? list.items : undefined;
    });
    expect((await admin.apps.listNamespacedDeployment({ namespace: tenant })).items).toEqual([]);
    // Its custom domain's Ingress is the operator's to write in the pool namespace, and to delete with the site.
    const domainIngress = poolDomainNames(`${tenant}/shared`).ingress;
    const routed = await waitFor("the domain's Ingress in the pool namespace", () =>
      admin.networking.readNamespacedIngress({ name: domainIngress, namespace: poolNs }).catch(() => undefined),
    );
    expect(routed.spec?.rules?.map((r) => [r.host, r.http?.paths?.[0]?.backend?.service?.name])).toEqual([[domain, "pagoda-pool"]]);
    await admin.deleteSite(tenant, "shared");
    await waitFor("the domain's Ingress gone with the site", async () =>
      (await admin.networking.readNamespacedIngress({ name: domainIngress, namespace: poolNs }).catch(() => undefined)) ? undefined : true,
    );
    await operator.idle();
    const ready = await fetch(`http://127.0.0.1:${operator.port}/readyz`);
    expect(ready.status, await ready.text()).toBe(200);
    expect(await counterTotal(operator.metrics.watchRestarts)).toBe(0);
    // Not reconcileErrors: the pool's first passes may retry (a Secret made and read back in two steps); a refused
    // right would leave one of the objects above unbuilt, which the waits already check.
  });

  function kubeConfigOf(file: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return kc;
  }

  /** A kubeconfig with a fresh token of a ServiceAccount in the pagoda namespace. */
  async function saKubeconfig(serviceAccount: string): Promise<string> {
    const token = must(await kubectl(["create", "token", serviceAccount, "-n", NAMESPACE, "--duration=1h"]), "kubectl create token").trim();
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const current = kc.getCurrentCluster();
    if (!current) throw new Error("admin kubeconfig has no cluster");
    const sa = new KubeConfig();
    sa.loadFromOptions({
      clusters: [current],
      users: [{ name: serviceAccount, token }],
      contexts: [{ name: serviceAccount, cluster: current.name, user: serviceAccount }],
      currentContext: serviceAccount,
    });
    const file = path.join(scratch, `${serviceAccount}.kubeconfig`);
    await writeFile(file, sa.exportConfig(), { mode: 0o600 });
    return file;
  }
});

interface Container {
  name: string;
  image?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { key: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

interface DeploymentSpec {
  replicas?: number;
  strategy?: { type?: string };
  template: {
    metadata?: { labels?: Record<string, string> };
    spec: { serviceAccountName?: string; securityContext?: { runAsNonRoot?: boolean }; containers: Container[]; volumes?: unknown[] };
  };
}

/**
 * The environment a Deployment's first container would get: ConfigMaps from
 * envFrom, then env (later wins, as in Kubernetes). Secret references take
 * their value from `secrets`; field references resolve as for a pod of that
 * Deployment in the pagoda namespace.
 */
function envOf(objects: Manifest[], deployment: string, secrets: Record<string, string> = {}): Record<string, string> {
  const dep = objects.find((o) => o.kind === "Deployment" && o.metadata.name === deployment) as (Manifest & { spec: DeploymentSpec }) | undefined;
  if (!dep) throw new Error(`Deployment ${deployment} not rendered`);
  const container = dep.spec.template.spec.containers[0]!;
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === from.configMapRef?.name) as
      (Manifest & { data?: Record<string, string> }) | undefined;
    if (!cm) throw new Error(`ConfigMap ${from.configMapRef?.name} referenced by ${deployment} is not rendered`);
    Object.assign(env, cm.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = dep.metadata.namespace ?? "";
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[e.name] = `${deployment}-test-pod`;
    else if (e.valueFrom?.secretKeyRef && secrets[e.valueFrom.secretKeyRef.key] !== undefined) env[e.name] = secrets[e.valueFrom.secretKeyRef.key]!;
  }
  return env;
}
