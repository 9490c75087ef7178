// Account settings (name, email change, sessions, deleting the account), as
// zod schemas: the routes and domain functions parse with these, the OpenAPI
// document is made from them.
import { z } from "zod";
import { displayNameSchema, emailSchema, PASSWORD_MAX } from "../validation";

const passwordAgain = z
  .string({ error: "Enter your password." })
  .min(1, { error: "Enter your password." })
  .max(PASSWORD_MAX, { error: "Your password is not right." })
  .meta({ description: "The account's current password, entered again." });

export const changeNameBodySchema = z.object({ name: displayNameSchema });

export const emailChangeBodySchema = z.object({
  newEmail: emailSchema.meta({ description: "The address to move the account to; the confirmation link goes there." }),
  password: passwordAgain,
});

export const emailChangeConfirmBodySchema = z.object({
  token: z
    .string({ error: "The link has no token. Open the link from the email again." })
    .meta({ description: "The `token` parameter of the link in the email." }),
});

export const deleteAccountBodySchema = z.object({ password: passwordAgain });

export const sessionParamsSchema = z.object({
  session: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/)
    .meta({ description: "A session's id, as the session list gives it.", example: "cmf0q3v1k0000a8b2c3d4e5f6" }),
});

export const nameChangedResponseSchema = z.strictObject({ name: z.string().meta({ description: "The name as stored (trimmed)." }) });

export const emailChangeRequestedResponseSchema = z.strictObject({
  sentTo: z.string().meta({ description: "The new address, where the confirmation link went." }),
});

export const emailChangedResponseSchema = z.strictObject({ email: z.string().meta({ description: "The account's address now." }) });

export const userSessionSchema = z
  .strictObject({
    id: z.string(),
    createdAt: z.iso.datetime().meta({ description: "The sign-in." }),
    lastSeenAt: z.iso.datetime().meta({ description: "The latest request, to within a minute." }),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    current: z.boolean().meta({ description: "Whether this is the session of the request." }),
  })
  .meta({ id: "UserSession" });

export const sessionsResponseSchema = z.strictObject({
  sessions: z.array(userSessionSchema).meta({
    description: "Most recently seen first. Sessions begun before sessions were recorded are not listed; signing out everywhere ends them.",
  }),
});

export const sessionEndedResponseSchema = z.strictObject({ ended: z.literal(true), signedOut: z.boolean() });

export const accountDeletedResponseSchema = z.strictObject({ deleted: z.literal(true) });

export type NameChangedResponse = z.infer<typeof nameChangedResponseSchema>;
export type EmailChangeRequestedResponse = z.infer<typeof emailChangeRequestedResponseSchema>;
export type EmailChangedResponse = z.infer<typeof emailChangedResponseSchema>;
export type UserSessionView = z.infer<typeof userSessionSchema>;
export type SessionsResponse = z.infer<typeof sessionsResponseSchema>;
export type SessionEndedResponse = z.infer<typeof sessionEndedResponseSchema>;
export type AccountDeletedResponse = z.infer<typeof accountDeletedResponseSchema>;
