/**
 * The account-settings routes as the API reference documents them: an API
 * token is refused by each (403 token_not_allowed, before any body is read),
 * with the one error shape and a status the document lists for the operation.
 */
import { NextRequest } from "next/server";
import { describe, expect, it } from "vitest";
import { endpoints } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator } from "@/lib/api/test-support";
import * as deleteRoute from "@/app/api/account/delete/route";
import * as emailRoute from "@/app/api/account/email/route";
import * as confirmRoute from "@/app/api/account/email/confirm/route";
import * as nameRoute from "@/app/api/account/name/route";
import * as sessionsRoute from "@/app/api/account/sessions/route";
import * as sessionRoute from "@/app/api/account/sessions/[session]/route";

const validatorAt = documentSchemaValidator(openApiDocument());

type Handler = (request: NextRequest, context: { params: Promise<{ session: string }> }) => Promise<Response>;

const cases: [string, string, string, Handler][] = [
  ["changeName", "POST", "/api/account/name", nameRoute.POST as Handler],
  ["requestEmailChange", "POST", "/api/account/email", emailRoute.POST as Handler],
  ["confirmEmailChange", "POST", "/api/account/email/confirm", confirmRoute.POST as Handler],
  ["listSessions", "GET", "/api/account/sessions", sessionsRoute.GET as Handler],
  ["endSession", "DELETE", "/api/account/sessions/abc", sessionRoute.DELETE as Handler],
  ["deleteAccount", "POST", "/api/account/delete", deleteRoute.POST as Handler],
];

describe("the account-settings routes answer as documented", () => {
  it.each(cases)("%s refuses an API token: 403 token_not_allowed", async (operationId, method, path, handler) => {
    const endpoint = endpoints.find((e) => e.operationId === operationId)!;
    expect(endpoint, operationId).toBeDefined();
    const response = await handler(
      new NextRequest(`http://localhost:3000${path}`, {
        method,
        headers: { authorization: "Bearer pgd_anything", "content-type": "application/json" },
        ...(method === "GET" ? {} : { body: JSON.stringify({ password: "x" }) }),
      }),
      { params: Promise.resolve({ session: "abc" }) },
    );
    const answer = (await response.json()) as unknown;
    expect({ status: response.status, answer }).toMatchObject({ status: 403, answer: { error: { code: "token_not_allowed" } } });
    expect(Object.keys(endpoint.errors)).toContain("403");
    expect(validatorAt("#/components/schemas/Error")(answer)).toEqual([]);
  });
});
