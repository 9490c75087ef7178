import { NextRequest } from "next/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UnauthenticatedError } from "@/lib/errors";
import { ApiError } from "@/lib/http/errors";

const env = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_URL: "http://localhost:3000",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};

beforeEach(() => {
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const SESSION = "next-auth.session-token";
const request = (method: string, cookie: string) =>
  new NextRequest("http://localhost:3000/api/tenants/acme/sites", { method, headers: { cookie, "x-csrf-token": "t" } });

// API routes do not pass through the proxy that takes a tossed cookie out of
// the request: these are refused before either copy is decoded or looked up.
describe("a sign-in cookie sent twice to an API route", () => {
  it("reads as signed out on a read, whichever copy comes first", async () => {
    const { requireActor } = await import("@/lib/http/actor");
    for (const cookie of [`${SESSION}=victim; ${SESSION}=planted`, `theme=dark; ${SESSION}=planted; x=1; ${SESSION}=victim`]) {
      await expect(requireActor(request("GET", cookie), "acme", "read")).rejects.toBeInstanceOf(UnauthenticatedError);
    }
  });

  it("refuses a state-changing call as conflicting cookies", async () => {
    const { requireActor, requireSessionUser } = await import("@/lib/http/actor");
    for (const cookie of [`${SESSION}=victim; ${SESSION}=planted`, `${SESSION}=mine; next-auth.csrf-token=a%7Cb; next-auth.csrf-token=c%7Cd`]) {
      for (const call of [requireActor(request("DELETE", cookie), "acme", "session"), requireSessionUser(request("POST", cookie))]) {
        const refusal = await call.then(
          () => null,
          (error: unknown) => error,
        );
        expect(refusal).toBeInstanceOf(ApiError);
        expect(refusal).toMatchObject({ status: 403, code: "conflicting_cookies" });
      }
    }
  });
});
