import { describe, expect, it } from "vitest";
import { ANNOTATION_CONFIG_HASH, ANNOTATION_DIGEST } from "@/lib/staticsite/types";
import { desiredChildren, desiredDeployment, desiredIngress, desiredPdb, FETCH_SCRIPT, siteUrl, SITE_VOLUME_LIMIT, TMP_VOLUME_LIMIT } from "./children";
import { DEFAULT_SITE_CONTENT_LIMITS, maxArtifactBytes, maxUnpackedSiteBytes, SIBLING_MAX_FRACTION } from "@/lib/staticsite/site-size";
import { configHash, renderNginxConfig } from "./nginx-config";
import { childConfig, DIGEST_B, makeSite } from "./test-fixtures";

const labels = {
  "app.kubernetes.io/managed-by": "pagoda",
  "app.kubernetes.io/name": "blog",
  "pagoda.dev/tenant": "acme",
};

describe("desired children", () => {
  it("label every child and make the StaticSite their controlling owner", () => {
    const children = desiredChildren(makeSite({ replicas: 2 }), childConfig);
    const all = [children.configMap, children.deployment, children.service, children.ingress, children.pdb];
    for (const obj of all) {
      expect(obj?.metadata?.labels).toEqual(labels);
      expect(obj?.metadata?.namespace).toBe("acme");
      expect(obj?.metadata?.ownerReferences).toEqual([
        { apiVersion: "pagoda.dev/v1alpha1", kind: "StaticSite", name: "blog", uid: "uid-1", controller: true, blockOwnerDeletion: true },
      ]);
    }
    expect(children.deployment.spec?.template.metadata?.labels).toEqual(labels);
  });

  it("refuse to build children for a site without uid", () => {
    const site = makeSite();
    delete site.metadata.uid;
    expect(() => desiredChildren(site, childConfig)).toThrow(/no uid/);
  });

  it("run nginx locked down with probes and resources", () => {
    const pod = desiredDeployment(makeSite(), childConfig, "h").spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of [...pod.initContainers!, ...pod.containers]) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(c.resources?.requests).toBeDefined();
      expect(c.resources?.limits).toBeDefined();
    }
    const nginx = pod.containers[0]!;
    expect(nginx.image).toBe(childConfig.nginxImage);
    expect(nginx.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(nginx.readinessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(nginx.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(nginx.volumeMounts?.find((m) => m.name === "site")?.readOnly).toBe(true);
  });

  it("fetch and verify the artifact in an init container, with the URL passed as data", () => {
    const site = makeSite();
    const init = desiredDeployment(site, childConfig, "h").spec!.template.spec!.initContainers![0]!;
    expect(init.image).toBe("busybox:1.37");
    expect(init.env).toEqual([
      { name: "ARTIFACT_URL", value: site.spec.artifact.url },
      { name: "ARTIFACT_DIGEST", value: site.spec.artifact.digest },
    ]);
    expect(init.command?.join(" ")).not.toContain(site.spec.artifact.url);
    // With a pool, the pool's mirror first, by the deploy's digest.
    const pooled = desiredDeployment(site, { ...childConfig, pool: { mirrorUrl: "http://10.96.0.20:8084" } }, "h").spec!.template.spec!.initContainers![0]!;
    expect(pooled.env?.find((e) => e.name === "ARTIFACT_MIRROR_URL")?.value).toBe(
      `http://10.96.0.20:8084/v1/artifacts/sha256/${site.spec.artifact.digest.slice("sha256:".length)}`,
    );
    expect(FETCH_SCRIPT).toContain("wget");
    expect(FETCH_SCRIPT).toContain("sha256sum");
    expect(FETCH_SCRIPT).toContain("tar -xzf");
    expect(FETCH_SCRIPT).toContain("/dev/termination-log");
  });

  it("roll out without losing capacity", () => {
    const spec = desiredDeployment(makeSite({ replicas: 3 }), childConfig, "h").spec!;
    expect(spec.replicas).toBe(3);
    expect(spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it("change the pod template annotations when the digest or the config changes", () => {
    const a = desiredChildren(makeSite(), childConfig).deployment.spec!.template.metadata!.annotations!;
    const b = desiredChildren(makeSite({ artifact: { url: "https://x/y", digest: DIGEST_B } }), childConfig).deployment.spec!.template.metadata!.annotations!;
    const c = desiredChildren(makeSite({ spa: true }), childConfig).deployment.spec!.template.metadata!.annotations!;
    expect(a[ANNOTATION_DIGEST]).not.toBe(b[ANNOTATION_DIGEST]);
    expect(b[ANNOTATION_DIGEST]).toBe(DIGEST_B);
    expect(a[ANNOTATION_CONFIG_HASH]).toBe(configHash(renderNginxConfig({ spa: false })));
    expect(c[ANNOTATION_CONFIG_HASH]).not.toBe(a[ANNOTATION_CONFIG_HASH]);
  });

  it("put the rendered nginx.conf into the ConfigMap", () => {
    const children = desiredChildren(makeSite({ notFoundPage: "/404.html" }), childConfig);
    expect(children.configMap.metadata?.name).toBe("blog-nginx");
    expect(children.configMap.data?.["nginx.conf"]).toContain("error_page 404 /404.html;");
    const volume = children.deployment.spec!.template.spec!.volumes!.find((v) => v.name === "config");
    expect(volume?.configMap?.name).toBe("blog-nginx");
  });

  it("scale to zero and withdraw the Ingress and PDB when suspended", () => {
    const children = desiredChildren(makeSite({ suspend: true, replicas: 3 }), childConfig);
    expect(children.deployment.spec?.replicas).toBe(0);
    expect(children.ingress).toBeUndefined();
    expect(children.pdb).toBeUndefined();
  });

  it("have a PDB only with more than one replica", () => {
    expect(desiredPdb(makeSite({ replicas: 1 }))).toBeUndefined();
    expect(desiredPdb(makeSite({ replicas: 2 }))?.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { "app.kubernetes.io/managed-by": "pagoda", "app.kubernetes.io/name": "blog" } },
    });
  });

  it("route every host to the Service, with class, TLS and issuer from config", () => {
    const site = makeSite({ hosts: ["a.example.com", "b.example.com"] });
    const plain = desiredIngress(site, childConfig)!;
    expect(plain.spec?.ingressClassName).toBe("traefik");
    expect(plain.spec?.tls).toBeUndefined();
    expect(plain.metadata?.annotations).toBeUndefined();
    expect(plain.spec?.rules?.map((r) => r.host)).toEqual(["a.example.com", "b.example.com"]);
    expect(plain.spec?.rules?.[0]?.http?.paths[0]?.backend.service).toEqual({ name: "blog", port: { name: "http" } });

    const tls = desiredIngress(site, { ...childConfig, tls: true, clusterIssuer: "letsencrypt" })!;
    expect(tls.spec?.tls).toEqual([{ hosts: ["a.example.com", "b.example.com"], secretName: "blog-tls" }]);
    expect(tls.metadata?.annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt" });
  });

  it("derive a host from the default domain, or fall back to the in-cluster URL", () => {
    const site = makeSite({ hosts: [] });
    expect(desiredIngress(site, childConfig)).toBeUndefined();
    expect(siteUrl(site, childConfig)).toBe("http://blog.acme.svc.cluster.local/");
    const withDomain = { ...childConfig, defaultDomain: "sites.example.net", tls: true, siteScheme: "https" as const };
    expect(siteUrl(site, withDomain)).toBe("https://blog-acme.sites.example.net/");
    expect(desiredIngress(site, withDomain)?.spec?.rules?.[0]?.host).toBe("blog-acme.sites.example.net");
    expect(siteUrl(makeSite(), childConfig)).toBe("http://blog.example.com/");
  });

  it("write status.url with the public port, and never with the Service's in-cluster name", () => {
    const site = makeSite({ hosts: [] });
    const local = { ...childConfig, defaultDomain: "pagoda.localhost", sitePort: 18080 };
    expect(siteUrl(site, local)).toBe("http://blog-acme.pagoda.localhost:18080/");
    expect(siteUrl(makeSite(), local)).toBe("http://blog.example.com:18080/");
    expect(siteUrl(makeSite(), { ...local, siteScheme: "https", sitePort: 443 })).toBe("https://blog.example.com/");
    // The Service answers on port 80 inside the cluster, whatever the ingress's public port.
    expect(siteUrl(site, { ...childConfig, sitePort: 18080 })).toBe("http://blog.acme.svc.cluster.local/");
  });

  it("serve only the hosts the site was granted, and take the URL from them", () => {
    const site = makeSite({ hosts: ["taken.example.com", "mine.example.com"] });
    const children = desiredChildren(site, childConfig, ["mine.example.com"]);
    expect(children.ingress?.spec?.rules?.map((r) => r.host)).toEqual(["mine.example.com"]);
    expect(desiredIngress(site, { ...childConfig, tls: true }, ["mine.example.com"])?.spec?.tls?.[0]?.hosts).toEqual(["mine.example.com"]);
    expect(siteUrl(site, childConfig, ["mine.example.com"])).toBe("http://mine.example.com/");
    // Granted nothing: no Ingress at all, and the in-cluster URL.
    expect(desiredChildren(site, childConfig, []).ingress).toBeUndefined();
    expect(siteUrl(site, childConfig, [])).toBe("http://blog.acme.svc.cluster.local/");
  });

  it("size the site volume for the largest accepted site with its .gz siblings, and /tmp for its artifact", () => {
    const MiB = 1024 * 1024;
    const volumes = desiredDeployment(makeSite(), childConfig, "h").spec!.template.spec!.volumes!;
    expect(volumes.find((v) => v.name === "site")?.emptyDir?.sizeLimit).toBe(SITE_VOLUME_LIMIT);
    expect(volumes.find((v) => v.name === "tmp")?.emptyDir?.sizeLimit).toBe(TMP_VOLUME_LIMIT);
    const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1]) * MiB;
    const { maxUncompressedBytes } = DEFAULT_SITE_CONTENT_LIMITS;
    // At least every accepted byte plus a sibling of each, and the formula's exact figure rounded up to a MiB.
    expect(mib(SITE_VOLUME_LIMIT)).toBeGreaterThanOrEqual(maxUncompressedBytes * (1 + SIBLING_MAX_FRACTION));
    expect(mib(SITE_VOLUME_LIMIT) - maxUnpackedSiteBytes()).toBeLessThan(MiB);
    expect(mib(SITE_VOLUME_LIMIT)).toBeGreaterThanOrEqual(maxUnpackedSiteBytes());
    expect(mib(TMP_VOLUME_LIMIT)).toBeGreaterThanOrEqual(maxArtifactBytes() + 64 * MiB);
    expect(maxArtifactBytes()).toBeGreaterThan(maxUncompressedBytes * (1 + SIBLING_MAX_FRACTION));
    // The old fixed guesses were too small for what uploads accept.
    expect(mib(SITE_VOLUME_LIMIT)).toBeGreaterThan(512 * MiB);
  });

  it("use the tenant label from the spec when given", () => {
    const children = desiredChildren(makeSite({ tenant: "t-42" }), childConfig);
    expect(children.service.metadata?.labels?.["pagoda.dev/tenant"]).toBe("t-42");
    // Selectors are immutable and must not depend on anything that could change.
    expect(children.deployment.spec?.selector.matchLabels).not.toHaveProperty("pagoda.dev/tenant");
  });
});
