import "server-only";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { currentUser, type CurrentUser } from "@/lib/auth/session";
import { NotFoundError } from "@/lib/errors";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";

/** For server-rendered pages: what the domain reports as not found becomes the 404 page. */
export async function orNotFound<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof NotFoundError) notFound();
    throw error;
  }
}

// Once per request: a workspace's layout and its page both ask, each with its
// own return address, and only the redirect depends on that.
const signedInActor = cache(async (tenant: string): Promise<{ user: CurrentUser; actor: TenantActor } | null> => {
  const user = await currentUser();
  if (!user) return null;
  return { user, actor: await orNotFound(actorFor(user.id, tenant)) };
});

/**
 * For server-rendered pages inside a workspace: sends a signed-out visitor to
 * sign-in and answers 404 for a workspace the user is not a member of.
 */
export async function pageActor(tenant: string, returnTo: string): Promise<{ user: CurrentUser; actor: TenantActor }> {
  const found = await signedInActor(tenant);
  if (!found) redirect(`/signin?callbackUrl=${encodeURIComponent(returnTo)}`);
  return found;
}
