// Members, roles and invitations of a workspace, as zod schemas: the routes
// and domain functions parse with these, the OpenAPI document is made from them.
import { z } from "zod";
import { emailSchema } from "../validation";

export const WORKSPACE_ROLES = ["owner", "member", "viewer"] as const;

const tenant = z.string().meta({ description: "The workspace's slug, as in its dashboard URL.", example: "alice-k3x9q2" });

export const memberParamsSchema = z.object({
  tenant,
  member: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/)
    .meta({ description: "The member's user id (`userId` in the member list).", example: "cmf0q3v1k0000a8b2c3d4e5f6" }),
});

export const invitationParamsSchema = z.object({
  tenant,
  invitation: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/)
    .meta({ description: "The invitation's id (`id` in the invitation list).", example: "cmf0q3v1k0000a8b2c3d4e5f6" }),
});

const role = z.enum(WORKSPACE_ROLES, { error: 'The role is "owner", "member" or "viewer".' }).meta({
  description: "owner: everything, including members, invitations, tokens and deleting; member: sites and deploys; viewer: reads only.",
});

export const changeRoleBodySchema = z.strictObject({ role }, { error: "Only role can be changed." });

export const createInvitationBodySchema = z.strictObject(
  { email: emailSchema.meta({ description: "Who is invited; the account that accepts must have this address." }), role },
  { error: "Give email and role." },
);

/** The secret of an invitation link: base64url of 32 bytes. */
export const acceptInvitationBodySchema = z.strictObject(
  { token: z.string({ error: "The invitation link's token is missing." }).max(200, { error: "This invitation link is not valid." }) },
  { error: "Give the token of the invitation link." },
);

const isoTime = z.iso.datetime();

export const memberSchema = z
  .strictObject({
    userId: z.string(),
    name: z.string(),
    email: z.string(),
    role,
    joinedAt: isoTime,
  })
  .meta({ id: "Member" });

export const membersResponseSchema = z.strictObject({ members: z.array(memberSchema) });
export const memberResponseSchema = z.strictObject({ member: memberSchema });

export const invitationSchema = z
  .strictObject({
    id: z.string(),
    email: z.string(),
    role,
    invitedBy: z.string().nullable().meta({ description: "The inviter's name; null once their account is gone." }),
    createdAt: isoTime,
    expiresAt: isoTime,
    state: z.enum(["pending", "expired", "accepted", "revoked"]),
  })
  .meta({ id: "Invitation" });

export const invitationsResponseSchema = z.strictObject({ invitations: z.array(invitationSchema) });
export const invitationResponseSchema = z.strictObject({ invitation: invitationSchema });
export const acceptedInvitationResponseSchema = z.strictObject({
  tenant: z.string().meta({ description: "The slug of the workspace joined." }),
  role,
});
export const leftResponseSchema = z.strictObject({ left: z.literal(true) });

export type MemberView = z.infer<typeof memberSchema>;
export type InvitationView = z.infer<typeof invitationSchema>;
