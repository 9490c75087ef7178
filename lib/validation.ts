import { z } from "zod";
import { dashboardSiteNameProblem, siteNameProblem } from "@/lib/staticsite/site-name";

/** Shared input rules. The server enforces every one; the browser only mirrors them. */

export const EMAIL_MAX = 254;
export const NAME_MAX = 80;
export const PASSWORD_MIN = 10;
// argon2 hashes any length, but an unbounded input is a cheap way to burn CPU.
export const PASSWORD_MAX = 128;

// C0, DEL and C1 controls, bidi overrides and isolates (they reorder the
// text around a name wherever it is shown), and unpaired surrogates (not
// text at all: with the u flag the class matches only unpaired halves).
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;

// A short list of the passwords that leak first; length does the rest.
const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  "password12",
  "password123",
  "password1234",
  "1234567890",
  "12345678910",
  "qwertyuiop",
  "iloveyou12",
  "letmein123",
  "welcome123",
  "abc1234567",
  "qwerty1234",
  "1q2w3e4r5t",
  "administrator",
  "passw0rd12",
  "changeme123",
  "0123456789",
  "9876543210",
  "aaaaaaaaaa",
]);

export const emailSchema = z
  .string({ error: "Enter your email address." })
  .trim()
  .min(1, { error: "Enter your email address." })
  .max(EMAIL_MAX, { error: `Email addresses can be at most ${EMAIL_MAX} characters.` })
  .pipe(z.email({ error: "Enter a valid email address, like name@example.com." }))
  .transform((value) => value.toLowerCase());

export const displayNameSchema = z
  .string({ error: "Enter your name." })
  .trim()
  .min(1, { error: "Enter your name." })
  .max(NAME_MAX, { error: `Names can be at most ${NAME_MAX} characters.` })
  .refine((value) => !CONTROL_CHARS.test(value), { error: "Names cannot contain control characters, text-direction overrides or broken characters." });

export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < PASSWORD_MIN) return `Passwords need at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `Passwords can be at most ${PASSWORD_MAX} characters.`;
  if (COMMON_PASSWORDS.has(password.toLowerCase())) return "This password is too common. Choose another.";
  if (new Set(password).size < 5) return "This password is too repetitive. Use more different characters.";
  if (email && password.toLowerCase().includes(email.split("@")[0]!.toLowerCase()) && email.split("@")[0]!.length >= 4) {
    return "Your password must not contain your email address.";
  }
  return null;
}

export const signUpSchema = z
  .object({
    name: displayNameSchema,
    email: emailSchema,
    password: z.string({ error: "Enter a password." }),
  })
  .superRefine((value, ctx) => {
    const problem = passwordProblem(value.password, value.email);
    if (problem) ctx.addIssue({ code: "custom", path: ["password"], message: problem });
  });

export type SignUpInput = z.infer<typeof signUpSchema>;

export const signInSchema = z.object({
  email: emailSchema,
  password: z.string().min(1, { error: "Enter your password." }).max(PASSWORD_MAX, { error: "Wrong email or password." }),
});

// The rules themselves live with the StaticSite contract, which the CRD enforces too.
export const siteNameSchema = z
  .string({ error: "Enter a site name." })
  .trim()
  .min(1, { error: "Enter a site name." })
  .superRefine((value, ctx) => {
    const problem = siteNameProblem(value) ?? dashboardSiteNameProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const createSiteSchema = z.object({ name: siteNameSchema });

export const TOKEN_NAME_MAX = 80;

/** What an API token is called in its workspace's list and in deploy history. */
export const tokenNameSchema = z
  .string({ error: "Give the token a name." })
  .trim()
  .min(1, { error: "Give the token a name." })
  .max(TOKEN_NAME_MAX, { error: `Token names can be at most ${TOKEN_NAME_MAX} characters.` })
  .refine((value) => !CONTROL_CHARS.test(value), { error: "Token names cannot contain control characters, text-direction overrides or broken characters." });

export const DEPLOY_MESSAGE_MAX = 500;

/**
 * A deploy's optional message, as sent in `?message=`: one line of text.
 * Blank means none. Newlines are refused with the other control characters,
 * so a history row is always a single line.
 */
export const deployMessageSchema = z
  .string()
  // Counted in code points, as the VarChar(500) column counts them.
  .refine((value) => [...value].length <= DEPLOY_MESSAGE_MAX, { error: `A deploy message can be at most ${DEPLOY_MESSAGE_MAX} characters.` })
  .refine((value) => !CONTROL_CHARS.test(value), {
    error: "A deploy message must be one line: no newlines, control characters, text-direction overrides or broken characters.",
  })
  .transform((value) => value.trim() || null)
  .nullable();

/** The query of `POST …/deploys`: the body is the zip, so the message travels in the URL. */
export const deployUploadQuerySchema = z.object({ message: deployMessageSchema });

/** Flattens zod issues into one message per field, for inline form errors. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join(".") || "form";
    out[key] ??= issue.message;
  }
  return out;
}
