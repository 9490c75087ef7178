import { describe, expect, it } from "vitest";
import { credentialsForm, isCredentialsSignIn, requireKnownAuthAction } from "@/lib/http/nextauth-request";
import { ApiError } from "@/lib/http/errors";

const FORM = "application/x-www-form-urlencoded";
const bytes = (text: string) => new TextEncoder().encode(text);

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("requireKnownAuthAction", () => {
  it("lets through exactly the endpoints the dashboard uses", () => {
    for (const path of [["session"], ["csrf"], ["providers"], ["signin"], ["error"]]) requireKnownAuthAction("GET", path);
    requireKnownAuthAction("POST", ["callback", "credentials"]);
    requireKnownAuthAction("POST", ["signout"]);
    requireKnownAuthAction("POST", ["signin", "oidc"]);
    requireKnownAuthAction("GET", ["callback", "oidc"]);
  });

  it.each([
    ["POST", ["callback", "credentials", "x"]],
    ["POST", ["callback", "credentials", ""]],
    ["POST", ["callback/credentials"]],
    ["POST", ["callback", "Credentials"]],
    ["POST", ["signin", "credentials"]],
    ["POST", ["session"]],
    ["POST", ["_log"]],
    ["GET", ["callback", "credentials"]],
    ["GET", ["session", "x"]],
    ["GET", ["signout"]],
    ["GET", ["signin", "oidc"]],
    ["POST", ["callback", "oidc"]],
    ["GET", ["callback", "oidc", "x"]],
    ["PUT", ["session"]],
  ])("answers 404 for %s %j", (method, path) => {
    expect(refusal(() => requireKnownAuthAction(method, path)).status).toBe(404);
  });
});

describe("isCredentialsSignIn", () => {
  it("reads the path as next-auth does: action and provider, the rest ignored", () => {
    expect(isCredentialsSignIn("POST", ["callback", "credentials"])).toBe(true);
    expect(isCredentialsSignIn("POST", ["callback", "credentials", "x", "y"])).toBe(true);
    expect(isCredentialsSignIn("GET", ["callback", "credentials"])).toBe(false);
    expect(isCredentialsSignIn("POST", ["signout"])).toBe(false);
  });
});

describe("credentialsForm", () => {
  it("reads each field once", () => {
    expect(credentialsForm(`${FORM};charset=UTF-8`, bytes("email=a%40example.com&password=p&csrfToken=t&json=true"))).toEqual({
      email: "a@example.com",
      password: "p",
      csrfToken: "t",
      json: "true",
    });
  });

  it.each(["email=decoy%40example.com&email=victim%40example.com&password=p", "email=v%40example.com&password=a&password=b", "csrfToken=a&csrfToken=b"])(
    "refuses a repeated field: %s",
    (form) => {
      const error = refusal(() => credentialsForm(FORM, bytes(form)));
      expect([error.status, error.code]).toEqual([400, "duplicate_field"]);
    },
  );

  it.each([null, "application/json", "text/plain", `application/json; x=${FORM}`, "multipart/form-data; boundary=x"])(
    "refuses a body that is not a plain form (%s)",
    (type) => {
      expect(refusal(() => credentialsForm(type, bytes("email=a%40example.com"))).status).toBe(415);
    },
  );
});
