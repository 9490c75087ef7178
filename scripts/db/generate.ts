/**
 * `npm run db:generate`: writes the Prisma client to lib/generated/prisma.
 * `npm install` and `npm ci` run it too (postinstall, with --if-stale), so a
 * fresh clone type-checks and tests without a separate step.
 *
 * The Prisma CLI resolves (and, when missing, downloads) its native
 * schema-engine binary before every command, including `generate`, which never
 * runs it. Offline, or where npm did not run Prisma's install script, that
 * download fails and so would generation. The CLI accepts any existing file
 * named by PRISMA_SCHEMA_ENGINE_BINARY, so where no real engine is present we
 * point it at a stand-in that fails loudly if something ever executes it.
 * Where a real engine exists we leave the CLI alone, so that it keeps using it.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { componentLogger } from "@/lib/log";

const log = componentLogger("db-generate");
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
export const STAND_IN_ENGINE = path.join(here, "no-schema-engine.sh");

/** Directories where Prisma's install step puts the native engine. */
function engineDirectories(): string[] {
  const require = createRequire(import.meta.url);
  const dirs: string[] = [];
  for (const pkg of ["@prisma/engines/package.json", "prisma/package.json"]) {
    try {
      dirs.push(path.dirname(require.resolve(pkg, { paths: [root] })));
    } catch {
      // Not installed: nothing to look at there; the CLI itself is checked below.
    }
  }
  return dirs;
}

/** The path of an installed native schema engine, or undefined. */
export function findNativeSchemaEngine(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.PRISMA_SCHEMA_ENGINE_BINARY;
  if (configured && existsSync(path.resolve(root, configured))) return configured;
  for (const dir of engineDirectories()) {
    const engine = readdirSync(dir).find((name) => name.startsWith("schema-engine-"));
    if (engine) return path.join(dir, engine);
  }
  return undefined;
}

/** Environment for running the Prisma CLI where no download is possible. */
export function prismaCliEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (findNativeSchemaEngine(env)) return env;
  return { ...env, PRISMA_SCHEMA_ENGINE_BINARY: STAND_IN_ENGINE };
}

export async function generate(): Promise<void> {
  const require = createRequire(import.meta.url);
  const cli = require.resolve("prisma/build/index.js", { paths: [root] });
  const env = prismaCliEnv();
  log.info({ standInEngine: env.PRISMA_SCHEMA_ENGINE_BINARY === STAND_IN_ENGINE }, "running prisma generate");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "generate"], { cwd: root, env, stdio: "inherit" });
    child.on("error", (error) => reject(new Error(`could not start the Prisma CLI at ${cli}`, { cause: error })));
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`prisma generate failed (exit code ${code ?? "none"}, signal ${signal ?? "none"})`));
    });
  });
}

/**
 * Generates only when the client is missing or older than the schema, so that
 * test runs sharing a checkout do not rewrite it under each other.
 */
export async function generateIfStale(): Promise<void> {
  const client = path.join(root, "lib/generated/prisma/client.ts");
  const schema = path.join(root, "prisma/schema.prisma");
  if (existsSync(client) && statSync(client).mtimeMs >= statSync(schema).mtimeMs) return;
  await generate();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // --if-stale: npm's postinstall, which runs on every install.
  (process.argv.includes("--if-stale") ? generateIfStale() : generate()).catch((error: unknown) => {
    log.fatal({ err: error }, "prisma generate failed");
    process.exitCode = 1;
  });
}
