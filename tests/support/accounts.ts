import { randomUUID } from "node:crypto";
import { signUp } from "@/lib/accounts/signup";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";

/** A fresh user with their own workspace, through the real sign-up path. */
export async function newAccount(label = "user"): Promise<{ email: string; userId: string; actor: TenantActor }> {
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const { userId, tenantSlug } = await signUp({ name: label, email, password: "a long and varied passphrase" }, "127.0.0.1");
  return { email, userId, actor: await actorFor(userId, tenantSlug) };
}
