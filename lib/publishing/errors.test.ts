import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { KubeRequestError, kubeRequest } from "./errors";

describe("KubeRequestError", () => {
  it("carries the operation, the server's message, reason and field causes", () => {
    const body = {
      kind: "Status",
      status: "Failure",
      message: 'StaticSite.pagoda.dev "blog" is invalid: spec.artifact.digest: Invalid value: "x": should match',
      reason: "Invalid",
      details: { causes: [{ reason: "FieldValueInvalid", message: 'Invalid value: "x": should match', field: "spec.artifact.digest" }] },
      code: 422,
    };
    const err = new KubeRequestError("applying StaticSite pagoda-acme/blog", new ApiException(422, "Unprocessable Entity", JSON.stringify(body), {}));
    expect(err.message).toBe(`applying StaticSite pagoda-acme/blog: HTTP 422: ${body.message}`);
    expect(err).toMatchObject({ statusCode: 422, reason: "Invalid", invalid: true, notFound: false });
    expect(err.fields).toEqual([{ field: "spec.artifact.digest", message: 'Invalid value: "x": should match' }]);
  });

  it("says when the API itself is missing rather than one object", async () => {
    const body = { kind: "Status", message: "the server could not find the requested resource", reason: "NotFound", code: 404 };
    const fail = (cause: unknown) => kubeRequest("listing StaticSites", () => Promise.reject(cause)).catch((e: unknown) => e as KubeRequestError);
    const err = await fail(new ApiException(404, "Not Found", body, {}));
    expect(err).toBeInstanceOf(KubeRequestError);
    expect(err.notFound).toBe(true);
    expect(err.message).toContain("is the StaticSite CRD installed?");
    const one = await fail(new ApiException(404, "Not Found", { message: 'staticsites.pagoda.dev "b" not found' }, {}));
    expect(one.message).not.toContain("CRD");
  });

  it("describes transport failures with their cause", () => {
    const cause = Object.assign(new Error("fetch failed"), { cause: new Error("connect ECONNREFUSED 127.0.0.1:6443") });
    const err = new KubeRequestError("reading Namespace pagoda-acme", cause);
    expect(err.statusCode).toBeUndefined();
    expect(err.message).toBe("reading Namespace pagoda-acme: fetch failed: connect ECONNREFUSED 127.0.0.1:6443");
  });
});
