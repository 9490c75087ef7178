/**
 * The email routes as the API reference documents them: real answers of the
 * real handlers, checked against the generated OpenAPI document (status
 * listed for the operation, body valid against its schema, every refusal the
 * one error shape).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { NextRequest } from "next/server";
import { describe, expect, it, inject } from "vitest";
import { endpoints } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator, responseRef } from "@/lib/api/test-support";
import { db } from "@/lib/db";
import { newAccount } from "@/tests/support/accounts";
import { linkIn, waitForMessage } from "@/tests/support/mailpit";
import { requestPasswordReset } from "@/lib/accounts/password-reset";
import { sendVerificationEmail } from "@/lib/accounts/email-verification";
import * as requestRoute from "@/app/api/account/password-reset/route";
import * as completeRoute from "@/app/api/account/password-reset/complete/route";
import * as verifyRoute from "@/app/api/account/email-verification/route";
import * as resendRoute from "@/app/api/account/email-verification/resend/route";

const doc = openApiDocument();
const validatorAt = documentSchemaValidator(doc);
const mailpit = inject("mailpitUrl");

function csrf(): { cookie: string; "x-csrf-token": string } {
  const token = randomBytes(32).toString("hex");
  const hash = createHash("sha256").update(`${token}${process.env.NEXTAUTH_SECRET!}`).digest("hex");
  return { cookie: `next-auth.csrf-token=${encodeURIComponent(`${token}|${hash}`)}`, "x-csrf-token": token };
}

async function expectDocumented(
  operationId: string,
  handler: (request: NextRequest) => Promise<Response>,
  body: string,
  headers: Record<string, string>,
  status: number,
): Promise<unknown> {
  const endpoint = endpoints.find((e) => e.operationId === operationId)!;
  const response = await handler(
    new NextRequest(`http://localhost:3000${endpoint.path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": `203.0.113.${Math.floor(Math.random() * 250) + 1}`, ...headers },
      body,
    }),
  );
  const answer = (await response.json()) as unknown;
  expect({ status: response.status, answer }).toMatchObject({ status });
  expect(Object.keys(endpoint.responses).concat(Object.keys(endpoint.errors)), `${operationId} does not document ${status}`).toContain(String(status));
  if (status < 400) expect(validatorAt(responseRef("post", endpoint.path, status))(answer)).toEqual([]);
  else expect(validatorAt("#/components/schemas/Error")(answer)).toEqual([]);
  return answer;
}

describe("the email routes answer as documented", () => {
  it("requestPasswordReset: 202, 400, 403 without the CSRF header, 429", async () => {
    const { email } = await newAccount("contract-reset");
    await expectDocumented("requestPasswordReset", requestRoute.POST, JSON.stringify({ email }), csrf(), 202);
    await expectDocumented("requestPasswordReset", requestRoute.POST, JSON.stringify({ email: "nope" }), csrf(), 400);
    await expectDocumented("requestPasswordReset", requestRoute.POST, JSON.stringify({ email }), { cookie: csrf().cookie }, 403);
    const limited = `contract-${randomUUID()}@example.com`;
    for (let i = 0; i < 3; i += 1) await (await requestPasswordReset({ email: limited }, null)).delivery;
    await expectDocumented("requestPasswordReset", requestRoute.POST, JSON.stringify({ email: limited }), csrf(), 429);
  });

  it("resetPassword and verifyEmail: 200, then 400 for the spent link", async () => {
    const { email, userId } = await newAccount("contract-links");
    await (
      await requestPasswordReset({ email }, null)
    ).delivery;
    const resetToken = new URL(linkIn(await waitForMessage(mailpit, email), "/reset-password")).searchParams.get("token")!;
    const reset = JSON.stringify({ token: resetToken, password: "a contract-tested passphrase" });
    await expectDocumented("resetPassword", completeRoute.POST, reset, csrf(), 200);
    expect(await expectDocumented("resetPassword", completeRoute.POST, reset, csrf(), 400)).toMatchObject({ error: { code: "link_used" } });

    await db().user.update({ where: { id: userId }, data: { emailVerifiedAt: null } });
    await sendVerificationEmail(userId, null);
    const verifyToken = new URL(linkIn(await waitForMessage(mailpit, email, { count: 2 }), "/verify-email")).searchParams.get("token")!;
    await expectDocumented("verifyEmail", verifyRoute.POST, JSON.stringify({ token: verifyToken }), csrf(), 200);
    expect(await expectDocumented("verifyEmail", verifyRoute.POST, JSON.stringify({ token: "garbage" }), csrf(), 400)).toMatchObject({
      error: { code: "link_invalid" },
    });
  });

  it("resendVerificationEmail: 403 token_not_allowed for an API token", async () => {
    const answer = await expectDocumented("resendVerificationEmail", resendRoute.POST, "{}", { authorization: "Bearer pgd_anything" }, 403);
    expect(answer).toMatchObject({ error: { code: "token_not_allowed" } });
  });
});
