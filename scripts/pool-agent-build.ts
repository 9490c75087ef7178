/**
 * The serving pool's agent as it runs in a pool pod: one JavaScript file
 * bundled by esbuild from operator/pool/agent/main.ts and everything it
 * imports (scripts/lib/node-bundle.ts), started with plain `node` (the image
 * has no node_modules and a read-only root).
 *
 *   tsx scripts/pool-agent-build.ts           build when a source changed
 *   tsx scripts/pool-agent-build.ts --force   build anyway (the image build)
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { NodeBundle } from "@/scripts/lib/node-bundle";

const poolAgentBundle = new NodeBundle({
  what: "the pool agent",
  entry: "operator/pool/agent/main.ts",
  outfile: "build/pool-agent/agent.cjs",
  script: "scripts/pool-agent-build.ts",
});

export const POOL_AGENT_BUNDLE = poolAgentBundle.path;

/** Builds the bundle if a source changed since the last build; returns its path. */
export function ensurePoolAgentBuild(log?: (message: string) => void): Promise<string> {
  return poolAgentBundle.ensure(log);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void poolAgentBundle.runAsScript(process.argv);
