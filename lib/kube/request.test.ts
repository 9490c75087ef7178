import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ApiException, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { KubeApiError, KubeRequester, type RequestLabels } from "./request";

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "c", server: "http://127.0.0.1:9", skipTLSVerify: true }, { name: "nobody" });
  return kc;
}

describe("KubeRequester", () => {
  it("tells the hook of each labelled request and wraps failures with the operation", async () => {
    const seen: RequestLabels[] = [];
    const requester = new KubeRequester(kubeConfig(), { requestTimeoutMs: 500, onRequest: (l) => void seen.push(l) });
    await expect(requester.call("reading a thing", async () => 1, { verb: "get", kind: "Thing", write: false })).resolves.toBe(1);
    await requester.call("unlabelled", async () => 2);
    const err = await requester
      .call("writing a thing", () => Promise.reject(new ApiException(409, "Conflict", { message: "the object has been modified", reason: "Conflict" }, {})), {
        verb: "update",
        kind: "Thing",
        write: true,
      })
      .catch((e: unknown) => e);
    expect(seen).toEqual([
      { verb: "get", kind: "Thing", write: false },
      { verb: "update", kind: "Thing", write: true },
    ]);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 409, reason: "Conflict", timedOut: false, operation: "writing a thing" });
    expect((err as Error).message).toBe("writing a thing: HTTP 409: the object has been modified");
  });

  it("names a timeout with the deadline", () => {
    const cause = Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" });
    const err = new KubeApiError("listing things", cause, 2_500);
    expect(err).toMatchObject({ timedOut: true, statusCode: undefined });
    expect(err.message).toBe("listing things: request timed out: no answer from the API server within 2.5 s");
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("refuses a deadline of %s", (ms) => {
    expect(() => new KubeRequester(kubeConfig(), { requestTimeoutMs: ms })).toThrow("the Kubernetes request timeout must be a positive number");
  });

  // Shared by the operator and the dashboard, so it stays free of either's domain.
  it("imports nothing of Pagoda's own", async () => {
    const dir = path.dirname(fileURLToPath(import.meta.url));
    for (const file of await readdir(dir)) {
      if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
      const source = await readFile(path.join(dir, file), "utf8");
      const imports = [...source.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1] ?? "");
      expect(
        imports.filter((i) => i.startsWith("@/") || i.startsWith("..")),
        file,
      ).toEqual([]);
    }
  });
});
