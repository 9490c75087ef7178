/**
 * The operator as it runs everywhere (npm run operator, npm start, the
 * browser tests, the image, the benchmark): one JavaScript file bundled by
 * esbuild from operator/main.ts and everything it imports, node_modules
 * included, started with plain `node` and the operator's V8 options.
 *
 * Why a bundle rather than the TypeScript loader at run time: tsx compiled
 * every module on start and kept both forms in memory (about 100 MB more RSS
 * before any work), and bundling lets esbuild leave out the parts of
 * @kubernetes/client-node the operator never calls (its generated API
 * clients made up 5 of the 9.5 MB a bundle of everything weighed). Whitespace is minified so the source V8
 * keeps is small and ASCII; names are kept so stack traces stay readable.
 *
 *   tsx scripts/operator-build.ts           build when a source changed
 *   tsx scripts/operator-build.ts --force   build anyway (the image build)
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { OPERATOR_ENV, OPERATOR_NODE_OPTIONS } from "@/lib/node-options";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "build", "operator");
export const OPERATOR_BUNDLE = path.join(outDir, "main.cjs");
/** Every file the last build read, relative to the repository root. */
const INPUTS_FILE = path.join(outDir, "inputs.json");
/** Files that change the output without being inputs esbuild reports. */
const BUILD_SETTINGS = ["package-lock.json", "tsconfig.json", "scripts/operator-build.ts"];

function mtime(file: string): number | undefined {
  try {
    return statSync(path.join(root, file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Why the bundle must be rebuilt, or null when it is current. */
export function operatorBuildStaleReason(): string | null {
  const builtAt = mtime(path.relative(root, OPERATOR_BUNDLE));
  if (builtAt === undefined) return "no build yet";
  let inputs: string[];
  try {
    inputs = JSON.parse(readFileSync(INPUTS_FILE, "utf8")) as string[];
  } catch {
    return "no record of the last build's inputs";
  }
  for (const file of [...BUILD_SETTINGS, ...inputs]) {
    const changed = mtime(file);
    if (changed === undefined) return `${file} is gone`;
    if (changed > builtAt) return `${file} changed`;
  }
  return null;
}

export async function buildOperator(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  // Written beside the target and renamed: a process starting the operator
  // meanwhile (another test run) sees the old file or the new one, never half.
  const tmp = `${OPERATOR_BUNDLE}.${process.pid}.tmp`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["operator/main.ts"],
    outfile: tmp,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    charset: "ascii",
    metafile: true,
    logLevel: "warning",
  });
  renameSync(tmp, OPERATOR_BUNDLE);
  writeFileSync(INPUTS_FILE, `${JSON.stringify(Object.keys(result.metafile.inputs).sort(), null, 1)}\n`);
}

/** Builds the bundle if a source changed since the last build; returns its path. */
export async function ensureOperatorBuild(log: (message: string) => void = () => {}): Promise<string> {
  const reason = operatorBuildStaleReason();
  if (reason) {
    log(`building the operator (${reason})`);
    await buildOperator();
  }
  return OPERATOR_BUNDLE;
}

/**
 * The command that runs the operator: node with its environment, its V8
 * options and the bundle. The environment comes through env(1), which execs
 * node in its own place, so the process started is node itself (signals,
 * its pid and a SIGKILL reach it directly) whoever spawns it.
 */
export async function operatorCommand(log?: (message: string) => void): Promise<{ command: string; args: string[] }> {
  const bundle = await ensureOperatorBuild(log);
  const env = Object.entries(OPERATOR_ENV).map(([name, value]) => `${name}=${value}`);
  return { command: "env", args: [...env, process.execPath, ...OPERATOR_NODE_OPTIONS.split(" "), bundle] };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes("--force");
  (force ? buildOperator() : ensureOperatorBuild((m) => console.error(m)).then(() => undefined)).then(
    () => console.error(`operator bundle: ${path.relative(process.cwd(), OPERATOR_BUNDLE)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
