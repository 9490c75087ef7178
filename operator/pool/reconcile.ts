// One reconcile of the shared serving pool's objects, under its own work
// queue key: the same apply-only-what-differs rule as a site's children
// (operator/child-drift.ts), without owner references (a StaticSite cannot
// own objects in another namespace), so what is the pool's is told by its
// labels and its fixed names.
import { PatchStrategy, type KubernetesObject, type V1Namespace, type V1Secret } from "@kubernetes/client-node";
import type pino from "pino";
import { FIELD_MANAGER_OPERATOR } from "@/lib/staticsite/types";
import { needsApply, withAppliedHash } from "../child-drift";
import type { KubeApi } from "../kube-api";
import { appliedState, WriteMemo, type Caches, type ObjectCache } from "../reconcile";
import { isConflict, isNotFound, type PartialObjectMetadata } from "../../lib/kube/request";
import { desiredPoolObjects, POOL_NAME, POOL_POD_LABELS, POOL_TOKEN_KEY, POOL_TOKEN_SECRET, poolTokenSecret, type PoolObjectConfig } from "./objects";

const APPLY_QUERY = `?fieldManager=${encodeURIComponent(FIELD_MANAGER_OPERATOR)}&force=true`;

export interface PoolReconcilerDeps {
  api: KubeApi;
  config: PoolObjectConfig;
  caches: Pick<Caches, "deployments" | "services" | "pdbs" | "ingresses">;
  log: pino.Logger;
  /** The token became known (read from the Secret, or made). */
  onToken: (token: string) => void;
}

type CachedKind = "Deployment" | "Service" | "PodDisruptionBudget" | "Ingress";

export class PoolReconciler {
  private readonly memo = new WriteMemo();
  private token: string | undefined;

  constructor(private readonly deps: PoolReconcilerDeps) {}

  /** The watch delivered news of one of the pool's objects: from now on the cache is the truth for it. */
  observed(kind: string): void {
    this.memo.invalidate(kind);
  }

  async reconcile(): Promise<void> {
    const desired = desiredPoolObjects(this.deps.config);
    // The namespace first: nothing else can be made before it exists.
    await this.syncNamespace(desired.namespace);
    await this.ensureToken();
    const { caches } = this.deps;
    let firstError: Error | undefined;
    const steps: [CachedKind, KubernetesObject | undefined, ObjectCache<KubernetesObject>][] = [
      ["Service", desired.service, caches.services as ObjectCache<KubernetesObject>],
      ["Deployment", desired.deployment, caches.deployments as ObjectCache<KubernetesObject>],
      ["PodDisruptionBudget", desired.pdb, caches.pdbs as ObjectCache<KubernetesObject>],
      ["Ingress", desired.ingress, caches.ingresses as ObjectCache<KubernetesObject>],
    ];
    for (const [kind, want, cache] of steps) {
      try {
        await this.syncCached(kind, want, cache);
      } catch (err) {
        this.deps.log.warn({ kind, err: (err as Error).message }, "pool object sync failed");
        firstError ??= err as Error;
      }
    }
    if (firstError) throw firstError;
  }

  private async syncNamespace(want: V1Namespace): Promise<void> {
    const name = want.metadata!.name!;
    const path = `/api/v1/namespaces/${name}`;
    let live: V1Namespace | undefined;
    try {
      live = await this.deps.api.requester.request<V1Namespace>(
        `reading Namespace ${name}`,
        { method: "GET", path },
        { verb: "get", resource: "Namespace", write: false },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const desired = withAppliedHash(want);
    if (!needsApply(desired, live)) return;
    await this.deps.api.requester.request<V1Namespace>(
      `applying Namespace ${name}`,
      { method: "PATCH", path: path + APPLY_QUERY, body: JSON.stringify(desired), contentType: PatchStrategy.ServerSideApply },
      { verb: "apply", resource: "Namespace", write: true },
    );
    this.deps.log.info({ namespace: name, created: !live }, live ? "updated the pool namespace" : "created the pool namespace");
  }

  /** Reads the pool's token, or makes it when the Secret is missing; an existing Secret is never written. */
  private async ensureToken(): Promise<void> {
    if (this.token) return;
    const ns = this.deps.config.pool.namespace;
    const path = `/api/v1/namespaces/${ns}/secrets`;
    const read = async (): Promise<string | undefined> => {
      try {
        const secret = await this.deps.api.requester.request<V1Secret>(
          `reading Secret ${ns}/${POOL_TOKEN_SECRET}`,
          { method: "GET", path: `${path}/${POOL_TOKEN_SECRET}` },
          { verb: "get", resource: "Secret", write: false },
        );
        const data = secret.data?.[POOL_TOKEN_KEY];
        if (!data) throw new Error(`Secret ${ns}/${POOL_TOKEN_SECRET} has no ${POOL_TOKEN_KEY} key; delete it to have the operator make a new one`);
        return Buffer.from(data, "base64").toString("utf8");
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    let token = await read();
    if (!token) {
      const secret = poolTokenSecret(this.deps.config);
      try {
        await this.deps.api.requester.request<PartialObjectMetadata>(
          `creating Secret ${ns}/${POOL_TOKEN_SECRET}`,
          {
            method: "POST",
            path: `${path}?fieldManager=${encodeURIComponent(FIELD_MANAGER_OPERATOR)}`,
            body: JSON.stringify(secret),
            contentType: "application/json",
          },
          { verb: "create", resource: "Secret", write: true },
        );
        token = secret.stringData![POOL_TOKEN_KEY];
        this.deps.log.info({ namespace: ns }, "made the pool's token");
      } catch (err) {
        // Another instance made it between our read and our create: theirs stands.
        if (!isConflict(err)) throw err;
        token = await read();
      }
    }
    if (!token) throw new Error(`Secret ${ns}/${POOL_TOKEN_SECRET} vanished while it was being made`);
    this.token = token;
    this.deps.onToken(token);
  }

  private async syncCached(kind: CachedKind, want: KubernetesObject | undefined, cache: ObjectCache<KubernetesObject>): Promise<void> {
    const key = { namespace: this.deps.config.pool.namespace, name: POOL_NAME };
    const cached = cache.get(key);
    const live = this.memo.freshest(kind, cached);
    if (!want) {
      if (live && isPools(live)) {
        await this.deps.api.delete({ apiVersion: live.apiVersion ?? "policy/v1", kind, ...key });
        this.memo.remember(kind, cached, undefined);
        this.deps.log.info({ kind, name: POOL_NAME }, "deleted pool object that is no longer wanted");
      }
      return;
    }
    const desired = withAppliedHash(want);
    if (!needsApply(desired, live)) return;
    const answer = await this.deps.api.apply(desired);
    this.memo.remember(kind, cached, appliedState(desired, answer, cached));
    this.deps.log.info({ kind, name: POOL_NAME, created: !live }, live ? "updated pool object" : "created pool object");
  }
}

/** Carries every pool pod label: made by this operator, not something else that happens to share the name. */
function isPools(obj: KubernetesObject): boolean {
  const labels = obj.metadata?.labels ?? {};
  return Object.entries(POOL_POD_LABELS).every(([k, v]) => labels[k] === v);
}
