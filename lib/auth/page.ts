import { notFound, redirect } from "next/navigation";
import { currentUser, type CurrentUser } from "@/lib/auth/session";
import { ApiError } from "@/lib/http/errors";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";

/**
 * For server-rendered pages inside a workspace: sends a signed-out visitor to
 * sign-in and answers 404 for a workspace the user is not a member of.
 */
export async function pageActor(tenant: string, returnTo: string): Promise<{ user: CurrentUser; actor: TenantActor }> {
  const user = await currentUser();
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent(returnTo)}`);
  try {
    return { user, actor: await actorFor(user.id, tenant) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) notFound();
    throw error;
  }
}
