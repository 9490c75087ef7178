import { redirect } from "next/navigation";
import { currentUser } from "@/lib/auth/session";
import { workspacesOf } from "@/lib/tenancy/access";

export const dynamic = "force-dynamic";

/** The front door: straight to the person's first workspace, or to sign-in. */
export default async function Home() {
  const user = await currentUser();
  if (!user) redirect("/signin");
  const [first] = await workspacesOf(user.id);
  if (!first) redirect("/signin");
  redirect(`/w/${first.slug}`);
}
