// Preload for processes that run server code outside Next.js (benchmarks run
// with tsx): `node --import ./scripts/lib/server-only-outside-next.mjs`.
// Modules of the dashboard's server side import "server-only", which throws
// unless resolved under the react-server condition, as Next.js does for server
// code so that a client component importing one fails the build. These
// processes are server code too, so "server-only" alone resolves under that
// condition to its empty module; every other package resolves as usual.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier !== "server-only") return nextResolve(specifier, context);
    return nextResolve(specifier, { ...context, conditions: [...context.conditions, "react-server"] });
  },
});
