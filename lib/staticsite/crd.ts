// The one source of the StaticSite CustomResourceDefinition. The YAML in
// deploy/crds is generated from this object (`tsx lib/staticsite/generate-crd.ts`)
// and a unit test fails when the two drift apart.
import {
  ARTIFACT_URL_MAX_LENGTH,
  ARTIFACT_URL_PATTERN,
  DIGEST_PATTERN,
  HOST_MAX_LENGTH,
  HOST_PATTERN,
  HOSTS_MAX,
  NOT_FOUND_PAGE_MAX_LENGTH,
  NOT_FOUND_PAGE_PATTERN,
  REPLICAS_DEFAULT,
  REPLICAS_MAX,
  REPLICAS_MIN,
  SITE_NAME_MAX_LENGTH,
  SITE_NAME_PATTERN,
  STATICSITE_CRD_NAME,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_LIST_KIND,
  STATICSITE_PLURAL,
  STATICSITE_SHORT_NAME,
  STATICSITE_SINGULAR,
  STATICSITE_VERSION,
  TENANT_PATTERN,
} from "./types";

type Schema = Record<string, unknown>;

const conditionSchema: Schema = {
  type: "object",
  required: ["type", "status", "lastTransitionTime", "reason", "message"],
  properties: {
    type: { type: "string", maxLength: 316 },
    status: { type: "string", enum: ["True", "False", "Unknown"] },
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    lastTransitionTime: { type: "string", format: "date-time" },
    reason: { type: "string", maxLength: 1024, pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$" },
    message: { type: "string", maxLength: 32768 },
  },
};

const specSchema: Schema = {
  type: "object",
  required: ["artifact"],
  properties: {
    artifact: {
      type: "object",
      description: "The gzip'd tarball pods download, verify and serve.",
      required: ["url", "digest"],
      properties: {
        url: {
          type: "string",
          description: "http(s) URL of the artifact, usually a signed URL of the dashboard.",
          maxLength: ARTIFACT_URL_MAX_LENGTH,
          pattern: ARTIFACT_URL_PATTERN,
        },
        digest: {
          type: "string",
          description: "sha256:<64 hex> of the artifact; pods refuse anything else.",
          pattern: DIGEST_PATTERN,
        },
      },
    },
    hosts: {
      type: "array",
      description: "Public DNS names of the site.",
      maxItems: HOSTS_MAX,
      "x-kubernetes-list-type": "set",
      items: { type: "string", maxLength: HOST_MAX_LENGTH, pattern: HOST_PATTERN },
    },
    replicas: {
      type: "integer",
      format: "int32",
      minimum: REPLICAS_MIN,
      maximum: REPLICAS_MAX,
      default: REPLICAS_DEFAULT,
    },
    spa: {
      type: "boolean",
      description: "Serve /index.html for paths that match no file (client-side routing).",
    },
    notFoundPage: {
      type: "string",
      description: "Page served with status 404 for paths that match no file, e.g. /404.html.",
      maxLength: NOT_FOUND_PAGE_MAX_LENGTH,
      pattern: NOT_FOUND_PAGE_PATTERN,
      "x-kubernetes-validations": [
        { rule: "self.startsWith('/')", message: "notFoundPage must start with /" },
        { rule: "!self.contains('..')", message: "notFoundPage must not contain .." },
        { rule: "!self.endsWith('/')", message: "notFoundPage must name a file, not a directory" },
      ],
    },
    suspend: {
      type: "boolean",
      description: "Scale to zero and withdraw the Ingress, keeping the object and its history.",
    },
    tenant: {
      type: "string",
      description: "Tenant slug used in labels; defaults to the namespace.",
      maxLength: 63,
      pattern: TENANT_PATTERN,
      "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "tenant is immutable" }],
    },
  },
  "x-kubernetes-validations": [
    {
      rule: "!(has(self.spa) && self.spa && has(self.notFoundPage))",
      message: "spa and notFoundPage cannot be combined: with spa every unknown path serves /index.html",
    },
    {
      rule: "has(oldSelf.tenant) == has(self.tenant)",
      message: "tenant cannot be added or removed after creation",
    },
  ],
};

const statusSchema: Schema = {
  type: "object",
  properties: {
    observedGeneration: { type: "integer", format: "int64" },
    conditions: {
      type: "array",
      maxItems: 8,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
      items: conditionSchema,
    },
    replicas: { type: "integer", format: "int32" },
    readyReplicas: { type: "integer", format: "int32" },
    url: { type: "string" },
    currentDigest: { type: "string", pattern: DIGEST_PATTERN },
    shortDigest: { type: "string" },
  },
};

export const staticSiteCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: STATICSITE_CRD_NAME },
  spec: {
    group: STATICSITE_GROUP,
    scope: "Namespaced",
    names: {
      plural: STATICSITE_PLURAL,
      singular: STATICSITE_SINGULAR,
      kind: STATICSITE_KIND,
      listKind: STATICSITE_LIST_KIND,
      shortNames: [STATICSITE_SHORT_NAME],
      categories: ["pagoda"],
    },
    versions: [
      {
        name: STATICSITE_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "URL", type: "string", jsonPath: ".status.url" },
          { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: "Replicas", type: "string", jsonPath: ".status.readyReplicas" },
          { name: "Digest", type: "string", jsonPath: ".status.shortDigest" },
          { name: "Hosts", type: "string", jsonPath: ".spec.hosts", priority: 1 },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            description: "A static website served by nginx from a content-addressed artifact.",
            required: ["spec"],
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object" },
              spec: specSchema,
              status: statusSchema,
            },
            "x-kubernetes-validations": [
              {
                rule: `self.metadata.name.size() <= ${SITE_NAME_MAX_LENGTH}`,
                message: `name must be at most ${SITE_NAME_MAX_LENGTH} characters`,
              },
              {
                rule: `self.metadata.name.matches('${SITE_NAME_PATTERN}')`,
                message: "name must start with a letter and contain only lowercase letters, digits and -",
              },
            ],
          },
        },
      },
    ],
  },
} as const;
