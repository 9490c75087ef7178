// A site's custom domains, as zod schemas: the routes and domain functions
// parse with these, the OpenAPI document is made from them (docs/domains.md).
import { z } from "zod";

const tenant = z.string().meta({ description: "The workspace's slug, as in its dashboard URL.", example: "alice-k3x9q2" });
const site = z.string().meta({ description: "The site's name.", example: "portfolio" });

export const domainParamsSchema = z.object({
  tenant,
  site,
  domain: z.string().max(1000).meta({ description: "The domain, in its ASCII (punycode) or Unicode form.", example: "www.example.com" }),
});

export const addDomainBodySchema = z
  .strictObject({
    name: z.string().max(1000).meta({ description: "The domain, e.g. www.example.com or bücher.de (stored as its punycode form)." }),
  })
  .meta({ id: "AddDomainBody" });

const record = z.strictObject({
  type: z.enum(["TXT", "CNAME", "A", "AAAA"]),
  name: z.string().meta({ description: "The record's name, fully qualified.", example: "_pagoda-challenge.www.example.com" }),
  value: z.string(),
});

const isoTime = z.string().meta({ format: "date-time" });

export const DOMAIN_PHASES = ["pending_verification", "verified", "certificate_issued", "serving", "failed"] as const;

export const domainSchema = z
  .strictObject({
    name: z.string().meta({ description: "ASCII (punycode) form, lower-case; what DNS and the cluster use.", example: "www.xn--bcher-kva.de" }),
    unicodeName: z.string().meta({ description: "The same name as a person reads it; equal to `name` for plain ASCII names.", example: "www.bücher.de" }),
    state: z.enum(["pending", "verified", "failed"]).meta({
      description:
        "Ownership: `pending` until the records are seen, `verified` while they are (served), `failed` once a verified domain's records were missing past the grace period (taken off; it is checked again and comes back when they return).",
    }),
    phase: z.enum(DOMAIN_PHASES).meta({
      description:
        "What to show: `pending_verification` → `verified` → `certificate_issued` → `serving`, or `failed` with `reason`. The last two come from the cluster.",
    }),
    reason: z.string().nullable().meta({ description: "Why the last check did not pass, or why the cluster does not serve it; null when all is well." }),
    records: z
      .strictObject({
        txt: record.meta({ description: "The TXT record proving ownership; its value is this domain's token." }),
        target: z.array(record).meta({ description: "Where the name must point: the CNAME, or the A/AAAA records (create one kind)." }),
      })
      .meta({ description: "The DNS records to create." }),
    attempts: z.int().meta({ description: "Checks since the state last changed." }),
    createdAt: isoTime,
    lastCheckedAt: isoTime.nullable(),
    verifiedAt: isoTime.nullable(),
    lostSince: isoTime.nullable().meta({ description: "Since when a verified domain's records are missing; null while they are there." }),
    removeAt: isoTime.nullable().meta({ description: "When a domain whose records are missing is taken off its site, unless they come back." }),
    nextCheckAt: isoTime,
  })
  .meta({ id: "Domain" });

export const domainsResponseSchema = z.strictObject({ domains: z.array(domainSchema) });
export const domainResponseSchema = z.strictObject({ domain: domainSchema });
export type DomainView = z.infer<typeof domainSchema>;
export type DomainsResponse = z.infer<typeof domainsResponseSchema>;
export type DomainResponse = z.infer<typeof domainResponseSchema>;
