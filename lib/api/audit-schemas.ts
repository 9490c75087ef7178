// The audit log's query and answer (GET /api/tenants/{tenant}/audit), as zod
// schemas: the route, the page and the CSV export parse with the same one.
import { z } from "zod";
import { SITE_NAME_MAX_LENGTH, SITE_NAME_RE } from "../staticsite/site-name";

/** Rows of one JSON page at most; the default is smaller. */
export const AUDIT_PAGE_MAX = 100;
export const AUDIT_PAGE_DEFAULT = 50;

// A filter left at "everyone" in the page's form arrives as an empty value: the same as no filter.
const blankIsAbsent = (value: unknown) => (value === "" ? undefined : value);

const person = z
  .string()
  .max(80, { error: "Choose a person from the list." })
  .regex(/^(token:)?[A-Za-z0-9_-]+$/, { error: "Choose a person from the list." })
  .meta({ description: "Only events done by this person (their user id) or by this API token (`token:<token id>`).", example: "cmf0q3v1k0000a8b2c3d4e5f6" });

const action = z
  .string()
  .max(64, { error: "Choose an action from the list." })
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, { error: "Choose an action from the list." })
  .meta({ description: "Only events of this action, e.g. `deploy.promote`.", example: "deploy.promote" });

const site = z
  .string()
  .max(SITE_NAME_MAX_LENGTH, { error: "Choose a site from the list." })
  .regex(SITE_NAME_RE, { error: "Choose a site from the list." })
  .meta({ description: "Only events about this site (`site.*` and `deploy.*` actions naming it).", example: "portfolio" });

const cursor = z
  .string()
  .max(200, { error: "This page link is not valid. Start again from the newest events." })
  .regex(/^[A-Za-z0-9_-]+$/, { error: "This page link is not valid. Start again from the newest events." })
  .meta({ description: "`nextCursor` of the previous page: the events after it, older ones." });

const limit = z.coerce
  .number({ error: `Ask for 1 to ${AUDIT_PAGE_MAX} events.` })
  .int({ error: `Ask for 1 to ${AUDIT_PAGE_MAX} events.` })
  .min(1, { error: `Ask for 1 to ${AUDIT_PAGE_MAX} events.` })
  .max(AUDIT_PAGE_MAX, { error: `Ask for 1 to ${AUDIT_PAGE_MAX} events.` })
  .meta({ description: `Events per page, 1 to ${AUDIT_PAGE_MAX}; ${AUDIT_PAGE_DEFAULT} when absent.` });

export const auditQuerySchema = z.object({
  person: z.preprocess(blankIsAbsent, person.optional()),
  action: z.preprocess(blankIsAbsent, action.optional()),
  site: z.preprocess(blankIsAbsent, site.optional()),
  cursor: z.preprocess(blankIsAbsent, cursor.optional()),
  limit: z.preprocess(blankIsAbsent, limit.optional()),
  format: z.preprocess(
    blankIsAbsent,
    z
      .enum(["json", "csv"], { error: "format is json or csv." })
      .optional()
      .meta({ description: "`csv` streams the matching events as a CSV file instead (from `cursor` if given, at most 10,000 rows)." }),
  ),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const auditEventSchema = z
  .strictObject({
    id: z.string(),
    createdAt: z.iso.datetime(),
    action: z.string().meta({ example: "deploy.promote" }),
    outcome: z.enum(["success", "failure"]),
    actor: z
      .strictObject({
        userId: z.string().nullable(),
        name: z.string().nullable().meta({ description: "The person's name, or null for an account deleted since, or for a token." }),
        email: z.string().nullable(),
        tokenId: z.string().nullable().meta({ description: "When an API token did it: the token's id and name (kept after the token is deleted)." }),
        tokenName: z.string().nullable(),
      })
      .meta({ description: "Who did it; all null for what nobody did (e.g. the dashboard noticing a failed rollout)." }),
    site: z.string().nullable().meta({ description: "The site the event is about, for `site.*` and `deploy.*` actions." }),
    target: z.string().nullable().meta({ description: "What was acted on, as recorded: a site name, a token name, an email." }),
    ip: z.string().nullable(),
    details: z.unknown().nullable().meta({ description: "What else was recorded, as JSON; its strings are as they came (zip entry names, messages)." }),
  })
  .meta({ id: "AuditEvent" });
export type AuditEventView = z.infer<typeof auditEventSchema>;

export const auditResponseSchema = z.strictObject({
  events: z.array(auditEventSchema).meta({ description: "Newest first." }),
  nextCursor: z.string().nullable().meta({ description: "Pass it as `cursor` for the next, older page; null on the last page." }),
});
export type AuditResponse = z.infer<typeof auditResponseSchema>;
