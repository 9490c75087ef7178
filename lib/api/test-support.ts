import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { openApiDocument } from "@/lib/api/openapi";

type Document = ReturnType<typeof openApiDocument>;

const DOC_ID = "https://pagoda.invalid/openapi.json";

/**
 * Validates values against the schemas of the generated document itself (not
 * the zod schemas it came from), with a JSON Schema 2020-12 validator, the
 * dialect OpenAPI 3.1 uses: `validate(ref)` compiles the schema at that JSON
 * pointer of the document and returns a checker.
 */
export function documentSchemaValidator(doc: Document): (ref: string) => (value: unknown) => ErrorObject[] {
  // OpenAPI adds keywords (example, discriminator…) a plain validator does not know: not errors.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats.default(ajv);
  ajv.addSchema(structuredClone(doc) as object, DOC_ID);
  return (ref) => {
    const check = ajv.getSchema(`${DOC_ID}${ref}`);
    if (!check) throw new Error(`no schema at ${ref}`);
    return (value) => (check(value) ? [] : (check.errors ?? []));
  };
}

const pointer = (part: string) => encodeURIComponent(part.replaceAll("~", "~0").replaceAll("/", "~1"));

/** The JSON pointer of an operation's response body schema in the document. */
export function responseRef(method: string, apiPath: string, status: number): string {
  return `#/paths/${pointer(apiPath)}/${method}/responses/${status}/content/${pointer("application/json")}/schema`;
}
