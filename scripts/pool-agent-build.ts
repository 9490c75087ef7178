/**
 * The serving pool's agent as it runs in a pool pod: one JavaScript file
 * bundled by esbuild from operator/pool/agent/main.ts and everything it
 * imports, node_modules included, started with plain `node` (the image has no
 * node_modules and a read-only root). Built like the operator's bundle
 * (scripts/operator-build.ts): whitespace minified, names kept for stack traces.
 *
 *   tsx scripts/pool-agent-build.ts           build when a source changed
 *   tsx scripts/pool-agent-build.ts --force   build anyway (the image build)
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "build", "pool-agent");
export const POOL_AGENT_BUNDLE = path.join(outDir, "agent.cjs");
const INPUTS_FILE = path.join(outDir, "inputs.json");
const BUILD_SETTINGS = ["package-lock.json", "tsconfig.json", "scripts/pool-agent-build.ts"];

function mtime(file: string): number | undefined {
  try {
    return statSync(path.join(root, file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Why the bundle must be rebuilt, or null when it is current. */
export function poolAgentBuildStaleReason(): string | null {
  const builtAt = mtime(path.relative(root, POOL_AGENT_BUNDLE));
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

export async function buildPoolAgent(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  // Written beside the target and renamed: a process starting the agent meanwhile sees the old file or the new one.
  const tmp = `${POOL_AGENT_BUNDLE}.${process.pid}.tmp`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["operator/pool/agent/main.ts"],
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
  renameSync(tmp, POOL_AGENT_BUNDLE);
  writeFileSync(INPUTS_FILE, `${JSON.stringify(Object.keys(result.metafile.inputs).sort(), null, 1)}\n`);
}

/** Builds the bundle if a source changed since the last build; returns its path. */
export async function ensurePoolAgentBuild(log: (message: string) => void = () => {}): Promise<string> {
  const reason = poolAgentBuildStaleReason();
  if (reason) {
    log(`building the pool agent (${reason})`);
    await buildPoolAgent();
  }
  return POOL_AGENT_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes("--force");
  (force ? buildPoolAgent() : ensurePoolAgentBuild((m) => console.error(m)).then(() => undefined)).then(
    () => console.error(`pool agent bundle: ${path.relative(process.cwd(), POOL_AGENT_BUNDLE)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
