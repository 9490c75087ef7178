import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { endpoints } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator } from "@/lib/api/test-support";

const root = path.resolve(__dirname, "../..");

function routeFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return routeFiles(rel);
    return entry.name === "route.ts" ? [rel] : [];
  });
}

/** The HTTP methods a route module exports, read from its source as Next.js would find them. */
function exportedMethods(file: string): string[] {
  const text = readFileSync(path.join(root, file), "utf8");
  const found = [...text.matchAll(/^export\s+(?:async\s+)?(?:function\s+|const\s+)(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\b/gm)].map((m) => m[1]!);
  const reexported = [...text.matchAll(/^export\s*\{([^}]*)\}/gm)].flatMap((m) =>
    m[1]!
      .split(",")
      .map((part) =>
        part
          .trim()
          .split(/\s+as\s+/)
          .pop()!,
      )
      .filter((name) => /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/.test(name)),
  );
  return [...found, ...reexported].map((m) => m.toLowerCase()).sort();
}

/** app/api/tenants/[tenant]/sites/route.ts → /api/tenants/{tenant}/sites */
function apiPath(file: string): string {
  return `/${file.replace(/^app\//, "").replace(/\/route\.ts$/, "")}`.replace(/\[(?:\.\.\.)?([^\]]+)\]/g, "{$1}");
}

// Compiling the OpenAPI meta-schema takes a second on an idle machine, many on a busy one.
describe("the OpenAPI document", { timeout: 60_000 }, () => {
  it("is a valid OpenAPI 3.1 document whose references all resolve", async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument() as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // Throws on a $ref that points nowhere.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it("has schemas that compile as JSON Schema 2020-12 (the dialect of OpenAPI 3.1)", () => {
    const doc = openApiDocument();
    const validate = documentSchemaValidator(doc);
    for (const name of Object.keys(doc.components?.schemas ?? {})) {
      expect(() => validate(`#/components/schemas/${name}`), name).not.toThrow();
    }
  });

  it("is the same, byte for byte, every time", () => {
    expect(JSON.stringify(openApiDocument())).toBe(JSON.stringify(openApiDocument()));
  });

  it("lists every route file under app/api and every method it exports, and nothing else", () => {
    const inRoutes = routeFiles("app/api").flatMap((file) => exportedMethods(file).map((method) => `${method.toUpperCase()} ${apiPath(file)} (${file})`));
    const inRegistry = endpoints.map((e) => `${e.method.toUpperCase()} ${e.path} (${e.route})`);
    expect(inRoutes.length).toBeGreaterThan(10);
    expect([...inRegistry].sort()).toEqual([...inRoutes].sort());
  });

  it("gives every operation a unique id, a security requirement and, where it can refuse, the error shape", () => {
    const doc = openApiDocument();
    const ids = endpoints.map((e) => e.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of endpoints) {
      const op = doc.paths?.[e.path]?.[e.method];
      expect(op, `${e.method} ${e.path}`).toBeDefined();
      expect(Array.isArray(op!.security), e.operationId).toBe(true);
      for (const status of Object.keys(e.errors)) {
        const response = op!.responses?.[status] as { content?: Record<string, { schema?: unknown }> };
        expect(response.content?.["application/json"]?.schema, `${e.operationId} ${status}`).toEqual({ $ref: "#/components/schemas/Error" });
      }
    }
  });

  it("requires the right scope of a bearer token on the CLI's routes, and accepts no token where only a session may act", () => {
    const security = (method: string, p: string) => openApiDocument().paths?.[p]?.[method as "get"]?.security;
    expect(security("post", "/api/tenants/{tenant}/sites/{site}/deploys")).toContainEqual({ bearerToken: ["deploy"] });
    expect(security("post", "/api/tenants/{tenant}/sites/{site}/deploys/{deploy}/promote")).toContainEqual({ bearerToken: ["deploy"] });
    expect(security("get", "/api/tenants/{tenant}/sites/{site}/deploys")).toContainEqual({ bearerToken: ["read"] });
    expect(security("get", "/api/tenants/{tenant}/sites/{site}/status")).toContainEqual({ bearerToken: ["read"] });
    expect(JSON.stringify(security("delete", "/api/tenants/{tenant}/sites/{site}"))).not.toContain("bearerToken");
    expect(JSON.stringify(security("post", "/api/account/password"))).not.toContain("bearerToken");
  });
});
