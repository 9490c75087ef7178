// Next.js loads a module more than once per process: instrumentation and
// each route handler are separate bundles, and development reloads modules on
// every edit. A module-level variable would then make a second database pool,
// a second watch or a second timer, so what must exist once per process is
// kept on globalThis, under a key of its own.

const REGISTRY = Symbol.for("pagoda.processSingletons");

function registry(): Map<string, unknown> {
  const holder = globalThis as typeof globalThis & { [REGISTRY]?: Map<string, unknown> };
  return (holder[REGISTRY] ??= new Map());
}

/** The process's one value under `key`, made by `create` on first use. If `create` throws, nothing is kept. */
export function processSingleton<T>(key: string, create: () => T): T {
  const values = registry();
  if (!values.has(key)) values.set(key, create());
  return values.get(key) as T;
}

/** Drops the value under `key`, so the next use makes a new one; for tests that act as a fresh process. */
export function forgetProcessSingleton(key: string): void {
  registry().delete(key);
}
