// Helpers shared by the Kubernetes benchmarks.
import { readFileSync } from "node:fs";
import https from "node:https";
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { ChildConfig } from "@/operator/children";

/** The operator's production image defaults; nothing runs them (no node), they only shape the objects. */
export const benchChildConfig: ChildConfig = {
  nginxImage: "nginxinc/nginx-unprivileged:1.27-alpine",
  fetchImage: "busybox:1.37",
  imagePullPolicy: "IfNotPresent",
  ingressClass: undefined,
  tls: false,
  clusterIssuer: undefined,
  defaultDomain: undefined,
  siteScheme: "http",
  sitePort: undefined,
};

/** Runs `fn` over `items`, `width` at a time. */
export async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

/** User plus system CPU seconds of a process, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The process name (first word of the command line, without its directory). */
export function processName(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0")[0]?.split("/").pop() ?? "";
}

/**
 * The API server's own counters, from its /metrics: requests by
 * "VERB resource[/subresource]" (every client, the controller manager and
 * scheduler included), and watch events sent (count and bytes) by resource.
 * Diffed around a phase, they say what the API server was busy with.
 */
export async function apiServerCounters(kc: KubeConfig): Promise<Map<string, number>> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const server = new URL(kc.getCurrentCluster()?.server ?? "");
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.get({ ...options, host: server.hostname, port: server.port, path: "/metrics" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: HTTP ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  const counters = new Map<string, number>();
  const add = (key: string, n: number) => counters.set(key, (counters.get(key) ?? 0) + n);
  for (const line of text.split("\n")) {
    const m = /^(apiserver_request_total|apiserver_watch_events_total|apiserver_watch_events_sizes_sum)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    const value = Number(m[3]);
    if (m[1] === "apiserver_request_total") {
      if (labels.verb === "WATCH" || !labels.resource) continue;
      add(`${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ""}`, value);
    } else if (m[1] === "apiserver_watch_events_total") add(`watch events ${labels.resource ?? labels.kind}`, value);
    else add(`watch KB ${labels.resource}`, value / 1024);
  }
  return counters;
}

/** after - before, largest first, as "key n, key n, ..."; entries under `min` dropped. */
export function counterDiff(before: Map<string, number>, after: Map<string, number>, min = 1): string {
  return [...after]
    .map(([key, n]) => [key, n - (before.get(key) ?? 0)] as const)
    .filter(([, n]) => n >= min)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${Math.round(n)}`)
    .join(", ");
}

/**
 * The `phase` events of a site's status stream, in order, until the caller
 * stops iterating (which cancels the stream) or the stream ends (an error:
 * the dashboard never ends it on its own).
 */
export async function* phaseEvents<T extends { phase: string }>(body: ReadableStream, what: string): AsyncGenerator<T> {
  const reader = (body as ReadableStream<BufferSource>).pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the status stream of ${what} ended`);
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").find((line) => line.startsWith("data: "));
        if (block.startsWith("event: phase") && data) yield JSON.parse(data.slice(6)) as T;
      }
    }
  } finally {
    // Stopping early is the normal way out; the stream is abandoned either way.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Gives the simulated node room for `pods` pods. Its own figure (250, in
 * local-cluster/lib/node.sh) holds a quarter of a 1,000-site workspace, and
 * the rest would stay rolling out for as long as the bench runs, which no
 * real workspace does. kwok keeps the capacity it finds on the node.
 */
export async function growSimulatedNode(kubeconfigPath: string, pods: number): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const [node] = (await core.listNode({ labelSelector: "type=kwok" })).items;
  if (!node?.metadata?.name) throw new Error("the cluster has no simulated node to give room to");
  const room = { pods: String(pods) };
  await core.patchNodeStatus(
    { name: node.metadata.name, body: { status: { capacity: room, allocatable: room } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  const after = await core.readNode({ name: node.metadata.name });
  if (after.status?.allocatable?.pods !== String(pods)) {
    throw new Error(`the simulated node kept room for ${after.status?.allocatable?.pods} pods, not ${pods}`);
  }
}
