import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApiException, CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiErrorMessage, isConflict, isGone, isInvalid, isNotFound, isTimeout, KubeApiError, KubeRequester, METADATA_ONLY, type RequestDone } from "./request";

function kubeConfig(server = "http://127.0.0.1:9"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "c", server, skipTLSVerify: true }, { name: "nobody" });
  return kc;
}

const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l", namespace: "default" }, spec: {} };

describe("KubeRequester against a real HTTP server", () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    // Creates answer 201, reads of "taken" a 409 Status, reads of "slow" never.
    server = http.createServer((req, res) => {
      if (req.method === "POST") {
        res.writeHead(201, { "Content-Type": "application/json" }).end(JSON.stringify(lease));
      } else if (req.url?.endsWith("/taken")) {
        const status = { kind: "Status", status: "Failure", message: "the object has been modified", reason: "Conflict", code: 409 };
        res.writeHead(409, { "Content-Type": "application/json" }).end(JSON.stringify(status));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("tells the hook how each labelled request ended, and wraps failures with the operation", async () => {
    const seen: RequestDone[] = [];
    const requester = new KubeRequester(kubeConfig(url), { requestTimeoutMs: 2000, onRequest: (d) => void seen.push(d) });
    const leases = requester.client(CoordinationV1Api);
    expect(requester.client(CoordinationV1Api)).toBe(leases);

    const created = await requester.call("creating Lease default/l", () => leases.createNamespacedLease({ namespace: "default", body: lease }), {
      verb: "create",
      resource: "Lease",
      write: true,
    });
    expect(created.metadata?.name).toBe("l");
    await requester.call("unlabelled", () => leases.createNamespacedLease({ namespace: "default", body: lease }));
    const readFailure = (name: string) =>
      requester
        .call(`reading Lease default/${name}`, () => leases.readNamespacedLease({ namespace: "default", name }), {
          verb: "get",
          resource: "Lease",
          write: false,
        })
        .catch((e: unknown) => e);
    const conflict = await readFailure("taken");
    const slow = await readFailure("slow");

    expect(seen).toEqual([
      { verb: "create", resource: "Lease", write: true, code: 201, timedOut: false, seconds: expect.any(Number) },
      { verb: "get", resource: "Lease", write: false, code: 409, timedOut: false, seconds: expect.any(Number) },
      { verb: "get", resource: "Lease", write: false, code: undefined, timedOut: true, seconds: expect.any(Number) },
    ]);
    expect(seen[2]?.seconds).toBeGreaterThanOrEqual(1.99);
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect(conflict).toMatchObject({ statusCode: 409, reason: "Conflict", timedOut: false, operation: "reading Lease default/taken" });
    expect((conflict as Error).message).toBe("reading Lease default/taken: HTTP 409: the object has been modified");
    expect(isConflict(conflict)).toBe(true);
    expect(isTimeout(slow)).toBe(true);
    expect((slow as Error).message).toBe("reading Lease default/slow: request timed out: no answer from the API server within 2 s");
  });
});

describe("KubeRequester.request against a real HTTP server", () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    // "echo" answers with what it was sent, "taken" a 409 Status, "slow" never.
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        if (req.url?.includes("/echo")) {
          const { accept, "content-type": contentType, "user-agent": userAgent } = req.headers;
          res
            .writeHead(200, { "Content-Type": "application/json" })
            .end(JSON.stringify({ method: req.method, url: req.url, accept, contentType, userAgent, body }));
        } else if (req.url?.includes("/taken")) {
          const status = { kind: "Status", status: "Failure", message: "the object has been modified", reason: "Conflict", code: 409 };
          res.writeHead(409, { "Content-Type": "application/json" }).end(JSON.stringify(status));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the request as given under the server's path prefix, and parses the answer", async () => {
    const requester = new KubeRequester(kubeConfig(`${url}/prefix/`), { requestTimeoutMs: 1_000, userAgent: "pagoda-test" });
    const echoed = await requester.request("applying Lease default/echo", {
      method: "PATCH",
      path: "/apis/coordination.k8s.io/v1/namespaces/default/leases/echo?fieldManager=me&force=true",
      body: '{"kind":"Lease"}',
      contentType: "application/apply-patch+yaml",
      accept: METADATA_ONLY,
    });
    expect(echoed).toEqual({
      method: "PATCH",
      url: "/prefix/apis/coordination.k8s.io/v1/namespaces/default/leases/echo?fieldManager=me&force=true",
      accept: METADATA_ONLY,
      contentType: "application/apply-patch+yaml",
      userAgent: "pagoda-test",
      body: '{"kind":"Lease"}',
    });
  });

  it("ends like the typed clients' requests: the hook, the API server's error, the deadline", async () => {
    const seen: RequestDone[] = [];
    const requester = new KubeRequester(kubeConfig(url), { requestTimeoutMs: 2000, onRequest: (d) => void seen.push(d) });
    const labels = { verb: "get", resource: "Lease", write: false };
    await requester.request("reading Lease default/echo", { method: "GET", path: "/apis/coordination.k8s.io/v1/namespaces/default/leases/echo" }, labels);
    const fail = (name: string) =>
      requester
        .request(`reading Lease default/${name}`, { method: "GET", path: `/apis/coordination.k8s.io/v1/namespaces/default/leases/${name}` }, labels)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
    const conflict = await fail("taken");
    const slow = await fail("slow");

    expect(seen.map((d) => [d.code, d.timedOut])).toEqual([
      [200, false],
      [409, false],
      [undefined, true],
    ]);
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect(conflict).toMatchObject({ statusCode: 409, reason: "Conflict", operation: "reading Lease default/taken" });
    expect((conflict as Error).message).toBe("reading Lease default/taken: HTTP 409: the object has been modified");
    expect(isTimeout(slow)).toBe(true);
    expect((slow as Error).message).toBe("reading Lease default/slow: request timed out: no answer from the API server within 2 s");
  });
});

describe("KubeApiError", () => {
  it("carries the operation, the server's message, reason and field causes", () => {
    const body = {
      kind: "Status",
      status: "Failure",
      message: 'StaticSite.pagoda.dev "blog" is invalid: spec.artifact.digest: Invalid value: "x": should match',
      reason: "Invalid",
      details: { causes: [{ reason: "FieldValueInvalid", message: 'Invalid value: "x": should match', field: "spec.artifact.digest" }] },
      code: 422,
    };
    const err = new KubeApiError("applying StaticSite pagoda-acme/blog", new ApiException(422, "Unprocessable Entity", JSON.stringify(body), {}));
    expect(err.message).toBe(`applying StaticSite pagoda-acme/blog: HTTP 422: ${body.message}`);
    expect(err).toMatchObject({ statusCode: 422, reason: "Invalid", invalid: true, notFound: false });
    expect(err.fields).toEqual([{ field: "spec.artifact.digest", message: 'Invalid value: "x": should match' }]);
  });

  it("says when the API itself is missing rather than one object", () => {
    const missingApi = new KubeApiError(
      "listing StaticSites",
      new ApiException(404, "Not Found", { kind: "Status", message: "the server could not find the requested resource", reason: "NotFound", code: 404 }, {}),
    );
    expect(missingApi.notFound).toBe(true);
    expect(missingApi.message).toContain("is its CustomResourceDefinition installed?");
    const oneObject = new KubeApiError("reading StaticSite a/b", new ApiException(404, "Not Found", { message: 'staticsites.pagoda.dev "b" not found' }, {}));
    expect(oneObject.message).toBe('reading StaticSite a/b: HTTP 404: staticsites.pagoda.dev "b" not found');
  });

  it("describes transport failures with their cause", () => {
    const cause = Object.assign(new Error("fetch failed"), { cause: new Error("connect ECONNREFUSED 127.0.0.1:6443") });
    const err = new KubeApiError("reading Namespace pagoda-acme", cause);
    expect(err.statusCode).toBeUndefined();
    expect(err.message).toBe("reading Namespace pagoda-acme: fetch failed: connect ECONNREFUSED 127.0.0.1:6443");
  });

  it("names a timeout with the deadline", () => {
    const cause = Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" });
    const err = new KubeApiError("listing things", cause, 2_500);
    expect(err).toMatchObject({ timedOut: true, statusCode: undefined });
    expect(err.message).toBe("listing things: request timed out: no answer from the API server within 2.5 s");
  });
});

describe("status helpers", () => {
  const wrapped = (code: number) => new KubeApiError("doing it", new ApiException(code, "x", {}, {}));

  it("read the code of our error, the client's exception and a watch's Status alike", () => {
    for (const err of [wrapped(404), new ApiException(404, "Not Found", {}, {}), { kind: "Status", code: 404 }]) expect(isNotFound(err)).toBe(true);
    expect(isConflict(wrapped(409))).toBe(true);
    expect(isGone({ kind: "Status", code: 410, reason: "Expired" })).toBe(true);
    expect(isGone(Object.assign(new Error("Gone"), { statusCode: 410 }))).toBe(true);
    expect(isInvalid(wrapped(422))).toBe(true);
  });

  it("are false for other codes and for failures without one", () => {
    for (const err of [wrapped(500), new Error("ECONNREFUSED"), Object.assign(new Error("x"), { code: "ENOENT" }), undefined, null]) {
      expect([isNotFound(err), isConflict(err), isGone(err), isInvalid(err), isTimeout(err)]).toEqual([false, false, false, false, false]);
    }
    expect(apiErrorMessage(wrapped(500))).toBe("doing it: HTTP 500: HTTP-Code: 500\nMessage: x\nBody: {}\nHeaders: {}");
  });
});

describe("KubeRequester", () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("refuses a deadline of %s", (ms) => {
    expect(() => new KubeRequester(kubeConfig(), { requestTimeoutMs: ms })).toThrow("the Kubernetes request timeout must be a positive number");
  });
});
