// Helpers shared by the Kubernetes benchmarks.
import { readFileSync } from "node:fs";
import type { ChildConfig } from "@/operator/desired-state";

/** The operator's production image defaults; nothing runs them (no node), they only shape the objects. */
export const benchChildConfig: ChildConfig = {
  nginxImage: "nginxinc/nginx-unprivileged:1.27-alpine",
  fetchImage: "busybox:1.37",
  imagePullPolicy: "IfNotPresent",
  ingressClass: undefined,
  tls: false,
  clusterIssuer: undefined,
  defaultDomain: undefined,
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
