import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";
import { hashPassword } from "@/lib/auth/password";
import { recordAudit } from "@/lib/audit";
import { tenantSlugFromEmail } from "@/lib/tenancy/slug";
import { ConflictError } from "@/lib/errors";
import { signUpSchema } from "@/lib/validation";

export interface SignUpResult {
  userId: string;
  tenantSlug: string;
}

const duplicateEmail = () =>
  new ConflictError("email_taken", "An account with this email already exists. Sign in instead.", {
    email: "An account with this email already exists. Sign in instead.",
  });

function isUniqueViolation(error: unknown, field: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return false;
  return JSON.stringify(error.meta ?? {}).includes(field);
}

/**
 * Creates the user, their personal tenant and the owner membership in one
 * transaction: either the person can sign in and has a workspace, or nothing
 * was written at all.
 */
export async function signUp(raw: unknown, ip: string | null): Promise<SignUpResult> {
  const input = signUpSchema.parse(raw);
  if (await db().user.findUnique({ where: { email: input.email }, select: { id: true } })) throw duplicateEmail();
  const passwordHash = await hashPassword(input.password);

  // A slug collision is astronomically rare but not impossible; retry with a new suffix.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const tenantSlug = tenantSlugFromEmail(input.email);
    try {
      const userId = await db().$transaction(async (tx) => {
        const user = await tx.user.create({ data: { email: input.email, name: input.name, passwordHash } });
        const tenant = await tx.tenant.create({ data: { slug: tenantSlug, name: `${input.name}'s sites` } });
        await tx.membership.create({ data: { userId: user.id, tenantId: tenant.id, role: "owner" } });
        await recordAudit({ action: "user.signup", outcome: "success", actorId: user.id, tenantId: tenant.id, target: input.email, ip }, tx);
        return user.id;
      });
      return { userId, tenantSlug };
    } catch (error) {
      if (isUniqueViolation(error, "email")) throw duplicateEmail();
      if (isUniqueViolation(error, "slug")) continue;
      throw error;
    }
  }
  throw new Error("could not allocate a unique tenant slug after 3 attempts");
}
