// The StaticSite spec and status, written once as zod schemas. The TypeScript
// types (types.ts) are inferred from them and the CRD's openAPIV3Schema
// (crd.ts) is generated from them, so the two cannot disagree; the API
// server's own rules (CEL, list semantics) ride along as schema metadata.
import { z } from "zod";
import { MAX_RULES_FILE_BYTES } from "./rules/limits";
import { SERVING_MODES } from "./serving";

export { SERVING_MODES, type ServingMode } from "./serving";

export const REPLICAS_MIN = 1;
export const REPLICAS_MAX = 10;
export const REPLICAS_DEFAULT = 1;
export const HOSTS_MAX = 20;
export const HOST_MAX_LENGTH = 253;
/** Deploys of a site that answer at a preview address of their own: the most recent ones. */
export const PREVIEWS_MAX = 20;
/** Verified custom domains a site may have; each costs a certificate. */
export const DOMAINS_MAX = 20;
/** What the operator makes of each custom domain (status.domains[].state). */
export const DOMAIN_STATES = ["refused", "pending-certificate", "certificate-issued", "serving", "failed"] as const;
export const NOT_FOUND_PAGE_MAX_LENGTH = 256;
/** Characters of `spec.rules.redirects` / `.headers`: the parser's file limit (its bytes bound its characters). */
export const RULES_TEXT_MAX_LENGTH = MAX_RULES_FILE_BYTES;
export const ARTIFACT_URL_MAX_LENGTH = 4096;
/** A tenant slug is a DNS label. */
export const TENANT_MAX_LENGTH = 63;
/** Ready, Progressing, Degraded, with room for a few more without a schema change. */
export const CONDITIONS_MAX = 8;

// Patterns are written for both JavaScript and the API server's RE2: no
// lookarounds, no backreferences.
export const DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$";
export const HOST_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$";
export const NOT_FOUND_PAGE_PATTERN = "^/[A-Za-z0-9._~/-]*$";
export const TENANT_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
export const ARTIFACT_URL_PATTERN = "^https?://[^\\s]+$";
// metav1.Condition's own limits, so the status reads like any other.
const CONDITION_REASON_PATTERN = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

export const DIGEST_RE = new RegExp(DIGEST_PATTERN);
export const HOST_RE = new RegExp(HOST_PATTERN);
export const NOT_FOUND_PAGE_RE = new RegExp(NOT_FOUND_PAGE_PATTERN);
export const TENANT_RE = new RegExp(TENANT_PATTERN);
export const ARTIFACT_URL_RE = new RegExp(ARTIFACT_URL_PATTERN);

export const CONDITION_READY = "Ready";
export const CONDITION_PROGRESSING = "Progressing";
export const CONDITION_DEGRADED = "Degraded";
/** Custom domains' certificates; present only on sites with spec.domains, and never part of Ready or Degraded. */
export const CONDITION_CERTIFICATES = "Certificates";
export const CONDITION_TYPES = [CONDITION_READY, CONDITION_PROGRESSING, CONDITION_DEGRADED, CONDITION_CERTIFICATES] as const;

/** Kubernetes integer formats; zod's own integer bounds are JavaScript's, not the API server's. */
const int32 = () => z.int().meta({ format: "int32" });
const int64 = () => z.int().meta({ format: "int64" });

/** A CEL rule the API server checks on writes (`x-kubernetes-validations`). */
export interface CelRule {
  rule: string;
  message: string;
}
const cel = (...rules: CelRule[]) => ({ "x-kubernetes-validations": rules });

export const artifactSchema = z
  .object({
    url: z.string().max(ARTIFACT_URL_MAX_LENGTH).regex(ARTIFACT_URL_RE).describe("http(s) URL of the artifact, usually a signed URL of the dashboard."),
    digest: z.string().regex(DIGEST_RE).describe("sha256:<64 hex> of the artifact; pods refuse anything else."),
  })
  .describe("The gzip'd tarball pods download, verify and serve.");

export const specSchema = z
  .object({
    artifact: artifactSchema,
    hosts: z
      .array(z.string().max(HOST_MAX_LENGTH).regex(HOST_RE))
      .max(HOSTS_MAX)
      .meta({ description: "Public DNS names of the site.", "x-kubernetes-list-type": "set" })
      .optional(),
    domains: z
      .array(z.string().max(HOST_MAX_LENGTH).regex(HOST_RE))
      .max(DOMAINS_MAX)
      .meta({
        description:
          "Custom domains whose ownership the dashboard verified, in ASCII (punycode) form. The operator grants each unless it is under the base domain, is the dashboard's host, or an older site holds it, and asks cert-manager for its certificate.",
        "x-kubernetes-list-type": "set",
      })
      .optional(),
    // Optional rather than defaulted: the API server fills the default in,
    // and writers that leave it out must not be told they set it.
    replicas: int32().min(REPLICAS_MIN).max(REPLICAS_MAX).meta({ default: REPLICAS_DEFAULT }).optional(),
    spa: z.boolean().describe("Serve /index.html for paths that match no file (client-side routing).").optional(),
    notFoundPage: z
      .string()
      .max(NOT_FOUND_PAGE_MAX_LENGTH)
      .regex(NOT_FOUND_PAGE_RE)
      .meta({
        description: "Page served with status 404 for paths that match no file, e.g. /404.html.",
        ...cel(
          { rule: "self.startsWith('/')", message: "notFoundPage must start with /" },
          { rule: "!self.contains('..')", message: "notFoundPage must not contain .." },
          { rule: "!self.endsWith('/')", message: "notFoundPage must name a file, not a directory" },
        ),
      })
      .optional(),
    rules: z
      .object({
        redirects: z.string().max(RULES_TEXT_MAX_LENGTH).describe("Text of the deploy's _redirects file.").optional(),
        headers: z.string().max(RULES_TEXT_MAX_LENGTH).describe("Text of the deploy's _headers file.").optional(),
      })
      .describe(
        "The site's _redirects and _headers, as the dashboard checked them at upload. The operator parses them again; rules that do not parse leave the site Degraded (RulesInvalid) on its last good configuration.",
      )
      .optional(),
    previews: z
      .array(artifactSchema)
      .max(PREVIEWS_MAX)
      .meta({
        description:
          "Recent deploys of the site, each served by the shared pool at its own preview address, <first 12 hex digits of its digest>--<site host>, whether or not it is promoted.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["digest"],
      })
      .optional(),
    serving: z
      .enum(SERVING_MODES)
      .describe(
        "dedicated: the site's own nginx Deployment (the default when absent). shared: served by the operator's pool of nginx replicas, with no pods of its own.",
      )
      .optional(),
    suspend: z.boolean().describe("Scale to zero and withdraw the Ingress, keeping the object and its history.").optional(),
    tenant: z
      .string()
      .max(TENANT_MAX_LENGTH)
      .regex(TENANT_RE)
      .meta({
        description: "Tenant slug used in labels; defaults to the namespace.",
        ...cel({ rule: "self == oldSelf", message: "tenant is immutable" }),
      })
      .optional(),
  })
  .meta(
    cel(
      {
        rule: "!(has(self.spa) && self.spa && has(self.notFoundPage))",
        message: "spa and notFoundPage cannot be combined: with spa every unknown path serves /index.html",
      },
      { rule: "has(oldSelf.tenant) == has(self.tenant)", message: "tenant cannot be added or removed after creation" },
    ),
  );

/** Same shape as metav1.Condition. */
export const conditionSchema = z.object({
  type: z.enum(CONDITION_TYPES),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: int64().min(0).optional(),
  /** RFC 3339; changes only when `status` flips. */
  lastTransitionTime: z.string().meta({ format: "date-time" }),
  reason: z.string().max(1024).regex(new RegExp(CONDITION_REASON_PATTERN)),
  message: z.string().max(32768),
});

export const domainStatusSchema = z.object({
  name: z.string().max(HOST_MAX_LENGTH),
  state: z.enum(DOMAIN_STATES),
  reason: z.string().max(1024).optional(),
});

export const statusSchema = z.object({
  observedGeneration: int64().optional(),
  conditions: z
    .array(conditionSchema)
    .max(CONDITIONS_MAX)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .optional(),
  /** Pods the Deployment currently has (all versions). */
  replicas: int32().optional(),
  readyReplicas: int32().optional(),
  /** Where the site answers: the dashboard's address for it, or the in-cluster Service URL. */
  url: z.string().optional(),
  /** The digest that is fully rolled out and Ready; the deploy that is live. */
  currentDigest: z.string().regex(DIGEST_RE).optional(),
  /** First 12 hex digits of currentDigest, for `kubectl get`. */
  shortDigest: z.string().optional(),
  /** One entry per spec.domains name: whether it is served, and over what. */
  domains: z
    .array(domainStatusSchema)
    .max(DOMAINS_MAX)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .optional(),
});

type JsonSchema = { [key: string]: unknown };

// What z.toJSONSchema adds that a CRD's structural schema must not carry or
// does not need: the dialect, integer bounds that are only JavaScript's
// safe-integer range, and the `\/` that RegExp#source writes for every `/`
// (RE2 would accept it, but the CRD should show the pattern as written).
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  const input = node as JsonSchema;
  // type and description first, as hand-written CRDs read.
  if ("type" in input) out.type = input.type;
  if ("description" in input) out.description = input.description;
  for (const [key, value] of Object.entries(input)) {
    if (key === "$schema" || key === "type" || key === "description") continue;
    if ((key === "minimum" || key === "maximum") && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    if (key === "pattern" && typeof value === "string") {
      out.pattern = value.replaceAll("\\/", "/");
      continue;
    }
    // properties and x-kubernetes-* values are data (names, CEL rules), not schemas, but recursing is harmless for them.
    out[key] = structural(value);
  }
  return out;
}

/** The openAPIV3Schema fragment for one of the schemas above. */
export function crdSchemaOf(schema: z.ZodType): JsonSchema {
  // io "input": optional-with-default fields are not `required`, and unknown keys are not forbidden.
  return structural(z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" })) as JsonSchema;
}
