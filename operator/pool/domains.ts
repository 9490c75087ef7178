// The custom domains of a shared site: its Certificates and Ingresses live in
// the pool's namespace, because an Ingress can only send traffic to a Service
// of its own namespace and reads its TLS Secret from there too. They are the
// same objects a dedicated site gets (operator/children.ts), moved: named by
// a digest of the site's key, labelled with the site's namespace and name in
// place of an owner reference (which cannot cross namespaces), and pointed at
// the pool's Service. Pure; operator/reconcile.ts applies and removes them.
import { createHash } from "node:crypto";
import type { KubernetesObject, V1Ingress } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE, LABEL_TENANT, type StaticSite } from "@/lib/staticsite/types";
import { childNames, desiredCertificates, desiredDomainIngress, desiredIngress, type Certificate, type ChildConfig, type CustomDomains } from "../children";
import { keyString } from "../../lib/kube/object-key";
import { POOL_NAME } from "./objects";

export const LABEL_SITE_NAMESPACE = "pagoda.dev/site-namespace";
export const LABEL_SITE = "pagoda.dev/site";

/**
 * The stem of the names of one site's objects in the pool namespace: sites
 * of different namespaces may share a name, and a digest keeps every name
 * short whatever the site's names are.
 */
export function poolDomainStem(key: string): string {
  return `site-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

/** The site (`namespace/name`) an object of the pool namespace was made for, from its labels; undefined for the pool's own objects. */
export function poolDomainOwner(obj: KubernetesObject): string | undefined {
  const labels = obj.metadata?.labels ?? {};
  const namespace = labels[LABEL_SITE_NAMESPACE];
  const name = labels[LABEL_SITE];
  return namespace && name ? keyString({ namespace, name }) : undefined;
}

export function ownsPoolDomainObject(key: string, obj: KubernetesObject): boolean {
  return poolDomainOwner(obj) === key;
}

/** The names of one site's Ingresses in the pool namespace (its Certificates are named by domain: certificateName(stem, domain)). */
export function poolDomainNames(key: string) {
  const names = childNames(poolDomainStem(key));
  return { stem: poolDomainStem(key), ingress: names.ingress, domainIngress: names.domainIngress };
}

export interface PoolDomainObjects {
  /** The granted domains without a Ready certificate, over plain HTTP. */
  ingress: V1Ingress | undefined;
  /** Those with one, over HTTPS with the redirect. */
  domainIngress: V1Ingress | undefined;
  certificates: Certificate[];
}

/**
 * The contract: exactly what a dedicated site with these custom domains gets
 * for them (desiredIngress without built-in hosts, desiredDomainIngress,
 * desiredCertificates: the same split between plain HTTP and HTTPS, the
 * same Certificates kept while suspended), in `poolNamespace`, each named
 * from poolDomainStem, with no owner reference, labelled managed-by, with
 * the site's tenant, namespace and name, and every rule sent to the pool's
 * Service. The built-in hosts are not here: the pool's wildcard routes them.
 */
export function desiredPoolDomainObjects(site: StaticSite, config: ChildConfig, poolNamespace: string, domains: CustomDomains): PoolDomainObjects {
  const key = keyString({ namespace: site.metadata.namespace, name: site.metadata.name });
  // Built as the children of a site of the stem's name in the pool namespace, then given the real site's labels.
  const stand: StaticSite = { ...site, metadata: { ...site.metadata, name: poolDomainStem(key), namespace: poolNamespace } };
  const labels = {
    [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE,
    [LABEL_SITE_NAMESPACE]: site.metadata.namespace,
    [LABEL_SITE]: site.metadata.name,
    ...(site.spec.tenant ? { [LABEL_TENANT]: site.spec.tenant } : {}),
  };
  const relabel = <T extends KubernetesObject>(obj: T): T => {
    const { ownerReferences: _owners, ...metadata } = obj.metadata ?? {};
    return { ...obj, metadata: { ...metadata, labels } };
  };
  const toPool = (ing: V1Ingress | undefined): V1Ingress | undefined => {
    if (!ing) return undefined;
    const moved = relabel(ing);
    return {
      ...moved,
      spec: {
        ...moved.spec,
        rules: (moved.spec?.rules ?? []).map((rule) => ({
          ...rule,
          http: {
            paths: (rule.http?.paths ?? []).map((p) => ({ ...p, backend: { service: { name: POOL_NAME, port: { name: "http" } } } })),
          },
        })),
      },
    };
  };
  return {
    ingress: toPool(desiredIngress(stand, config, [], domains)),
    domainIngress: toPool(desiredDomainIngress(stand, config, domains)),
    certificates: desiredCertificates(stand, config, domains).map(relabel),
  };
}
