// The StaticSite CustomResourceDefinition. Its schema is generated from the
// zod schemas in schema.ts, the same ones the TypeScript types are inferred
// from; the YAML in deploy/crds is generated from this object
// (`tsx lib/staticsite/generate-crd.ts`) and a unit test fails when the two
// drift apart.
import { crdSchemaOf, specSchema, statusSchema } from "./schema";
import { SITE_NAME_CEL_RULES } from "./site-name";
import {
  STATICSITE_CRD_NAME,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_LIST_KIND,
  STATICSITE_PLURAL,
  STATICSITE_SHORT_NAME,
  STATICSITE_SINGULAR,
  STATICSITE_VERSION,
} from "./types";

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
              spec: crdSchemaOf(specSchema),
              status: crdSchemaOf(statusSchema),
            },
            "x-kubernetes-validations": SITE_NAME_CEL_RULES,
          },
        },
      },
    ],
  },
} as const;
