/**
 * The operator as it runs everywhere (npm run operator, npm start, the
 * browser tests, the image, the benchmark): one JavaScript file bundled by
 * esbuild from operator/main.ts and everything it imports (scripts/lib/node-bundle.ts),
 * started with plain `node` and the operator's V8 options.
 *
 * Why a bundle rather than the TypeScript loader at run time: tsx compiled
 * every module on start and kept both forms in memory (about 100 MB more RSS
 * before any work), and bundling lets esbuild leave out the parts of
 * @kubernetes/client-node the operator never calls (its generated API
 * clients made up 5 of the 9.5 MB a bundle of everything weighed).
 *
 *   tsx scripts/operator-build.ts           build when a source changed
 *   tsx scripts/operator-build.ts --force   build anyway (the image build)
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OPERATOR_ENV, OPERATOR_NODE_OPTIONS } from "@/lib/node-options";
import { NodeBundle } from "@/scripts/lib/node-bundle";

const operatorBundle = new NodeBundle({
  what: "the operator",
  entry: "operator/main.ts",
  outfile: "build/operator/main.cjs",
  script: "scripts/operator-build.ts",
});

export const OPERATOR_BUNDLE = operatorBundle.path;

/** Builds the bundle if a source changed since the last build; returns its path. */
export function ensureOperatorBuild(log?: (message: string) => void): Promise<string> {
  return operatorBundle.ensure(log);
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

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void operatorBundle.runAsScript(process.argv);
