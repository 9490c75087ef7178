/**
 * Prisma's Schema Engine compiled to WebAssembly, driven through the pg driver
 * adapter: migrations without the native engine binary, which the Prisma CLI
 * would otherwise download.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory, DriverAdapterError } from "@prisma/driver-adapter-utils";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import * as engineGlue from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm/schema_engine_bg";
import pg from "pg";
import { componentLogger } from "@/lib/log";

const log = componentLogger("schema-engine");

export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

let instantiated: Promise<void> | undefined;

/**
 * The glue as the module's import object, with one change: the engine races
 * its database work against timers (ten seconds for Prisma's advisory lock)
 * and has no way to cancel them, so each finished command would keep Node
 * alive until its timer fired. Unreferenced timers still fire while the
 * engine's connections keep the process running, and no longer hold it open
 * once the work is done.
 */
function engineImports(): WebAssembly.ModuleImports {
  const imports: WebAssembly.ModuleImports = { ...(engineGlue as unknown as WebAssembly.ModuleImports) };
  for (const [name, value] of Object.entries(imports)) {
    if (name.startsWith("__wbg_setTimeout_") && typeof value === "function") {
      imports[name] = (...args: unknown[]) => {
        const timer: unknown = Reflect.apply(value, undefined, args);
        (timer as { unref?: () => void } | undefined)?.unref?.();
        return timer;
      };
    }
  }
  return imports;
}

/**
 * The package's own entry imports the .wasm file as an ES module, which only
 * bundlers understand; Node needs the module instantiated by hand, with the
 * JS glue as its import object, before any engine can be created. The glue
 * keeps the instance in module state, so this happens once per process.
 */
function instantiateEngine(): Promise<void> {
  instantiated ??= (async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve("@prisma/schema-engine-wasm");
    const wasmPath = path.join(path.dirname(entry), "schema_engine_bg.wasm");
    const bytes = await readFile(wasmPath);
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": engineImports() });
    engineGlue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })().catch((error: unknown) => {
    instantiated = undefined;
    throw new Error("could not instantiate @prisma/schema-engine-wasm", { cause: error });
  });
  return instantiated;
}

/**
 * pg settings taken apart from the URL. The adapter derives the shadow
 * database's settings as `{ ...config, database }`, and with a bare
 * `connectionString` the URL's database would win over that override: the
 * "shadow" would be the real database.
 */
export function poolConfigFromUrl(url: string): pg.PoolConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new Error("DATABASE_URL is not a valid URL", { cause: error });
  }
  if (parsed.protocol !== "postgresql:" && parsed.protocol !== "postgres:") {
    throw new Error(`DATABASE_URL must be a postgresql:// URL, got ${parsed.protocol}//`);
  }
  const config: pg.PoolConfig = {
    host: parsed.searchParams.get("host") ?? (decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, "$1") || "localhost"),
    port: parsed.port ? Number(parsed.port) : 5432,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || undefined,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
  const sslmode = parsed.searchParams.get("sslmode");
  if (sslmode === "require" || sslmode === "prefer") config.ssl = { rejectUnauthorized: false };
  else if (sslmode === "verify-ca" || sslmode === "verify-full") config.ssl = true;
  return config;
}

/**
 * Makes the adapter send each migration script to Postgres whole, as the
 * native engine does. The pg adapter splits scripts at every ";", which cuts
 * a function body or a string literal in two ("syntax error at or near ...").
 * A script without parameters goes over the simple query protocol, which
 * takes any number of statements.
 */
function withWholeScripts(adapter: SqlDriverAdapter, run: (script: string) => Promise<unknown>): SqlDriverAdapter {
  adapter.executeScript = async (script: string) => {
    try {
      await run(script);
    } catch (error) {
      // The shape the adapter gives a Postgres error, so the engine reports it the same way.
      if (error instanceof pg.DatabaseError) {
        throw new DriverAdapterError({
          kind: "postgres",
          code: error.code ?? "N/A",
          severity: error.severity ?? "N/A",
          message: error.message,
          detail: error.detail,
          column: error.column,
          hint: error.hint,
        });
      }
      throw error;
    }
  };
  return adapter;
}

/** Prefix of the temporary databases the engine replays migrations into. */
export const SHADOW_DATABASE_PREFIX = "pagoda_shadow_";

/**
 * The pg adapter's factory, except for shadow databases: the adapter's own
 * clean-up drops the shadow database while its pool still holds a connection
 * to it, which Postgres refuses, leaving the database behind. Here the pool
 * is closed first, the drop is forced, and whatever the engine did not
 * dispose of is dropped by `dropShadows`.
 */
function migrationAdapterFactory(pool: pg.Pool, config: pg.PoolConfig, schemaName: string | undefined) {
  const options = schemaName ? { schema: schemaName } : undefined;
  const main = new PrismaPg(pool, options);
  const shadows = new Set<string>();

  const dropShadow = async (name: string): Promise<void> => {
    await pool.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    shadows.delete(name);
  };

  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => withWholeScripts(await main.connect(), (script) => pool.query(script)),
    connectToShadowDb: async (): Promise<SqlDriverAdapter> => {
      const name = `${SHADOW_DATABASE_PREFIX}${randomUUID().replaceAll("-", "")}`;
      await pool.query(`CREATE DATABASE "${name}"`).catch((error: unknown) => {
        throw new Error(`cannot create the shadow database ${name} (the role needs CREATEDB)`, { cause: error });
      });
      shadows.add(name);
      const shadowPool = new pg.Pool({ ...config, database: name, max: 4 });
      const shadow = withWholeScripts(await new PrismaPg(shadowPool, options).connect(), (script) => shadowPool.query(script));
      shadow.dispose = async () => {
        try {
          await shadowPool.end();
        } finally {
          await dropShadow(name);
        }
      };
      return shadow;
    },
  };

  const dropShadows = async (): Promise<void> => {
    for (const name of [...shadows]) await dropShadow(name);
  };
  return { factory, dropShadows };
}

const CHAR_OID = 18;
const TEXT_OID = 25;

type QueryFunction = (this: pg.Client, ...args: unknown[]) => unknown;

function charColumnsAsText(result: unknown): void {
  for (const part of Array.isArray(result) ? result : [result]) {
    const fields = (part as { fields?: { dataTypeID: number }[] } | undefined)?.fields;
    for (const field of fields ?? []) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
  }
}

/**
 * A pg client for the engine's connections. The engine reads Postgres's
 * catalog, whose columns include the one-byte internal type "char"
 * (pg_constraint.contype, pg_class.relkind, ...), and the pg adapter rejects
 * that type ("Column type 'char' could not be deserialized"), so `diff`
 * against migrations fails. pg already returns such values as one-character
 * strings; labelling them as text lets the adapter hand them over unchanged.
 */
class CatalogFriendlyClient extends pg.Client {}
const originalQuery = pg.Client.prototype.query as unknown as QueryFunction;
(CatalogFriendlyClient.prototype as unknown as { query: QueryFunction }).query = function (...args) {
  const callback = args.at(-1);
  if (typeof callback === "function") {
    args[args.length - 1] = (error: Error | null, result: unknown) => {
      if (!error) charColumnsAsText(result);
      (callback as (error: Error | null, result: unknown) => void)(error, result);
    };
    return originalQuery.apply(this, args);
  }
  const returned = originalQuery.apply(this, args);
  if (returned instanceof Promise) {
    return returned.then((result: unknown) => {
      charColumnsAsText(result);
      return result;
    });
  }
  return returned;
};

export interface EngineSession {
  engine: SchemaEngine;
  pool: pg.Pool;
}

/**
 * Runs `action` with a Schema Engine connected to `databaseUrl`; frees the
 * engine, drops shadow databases and closes every connection afterwards,
 * whatever happened.
 */
export async function withSchemaEngine<T>(
  databaseUrl: string,
  schema: { path: string; content: string },
  action: (session: EngineSession) => Promise<T>,
): Promise<T> {
  await instantiateEngine();
  const config: pg.PoolConfig = { ...poolConfigFromUrl(databaseUrl), Client: CatalogFriendlyClient };
  const pool = new pg.Pool({ ...config, max: 4 });
  pool.on("error", (error) => log.warn({ err: error }, "idle migration connection failed"));
  const schemaName = new URL(databaseUrl).searchParams.get("schema") ?? undefined;
  const { factory, dropShadows } = migrationAdapterFactory(pool, config, schemaName);
  let engine: SchemaEngine | undefined;
  try {
    engine = await engineGlue.SchemaEngine.new(
      { datamodels: [[schema.path, schema.content]] },
      (message: unknown) => log.debug({ engine: message }, "schema engine log"),
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await action({ engine, pool });
  } finally {
    engine?.free();
    try {
      await dropShadows();
    } finally {
      await pool.end();
    }
  }
}
