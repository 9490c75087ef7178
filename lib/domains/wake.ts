// Lets a request that adds a domain start its first check at once instead of
// at the verification loop's next tick. Kept on globalThis because route
// handlers and instrumentation are separate bundles of one process; another
// replica's loop finds the row by its nextCheckAt anyway.

import "server-only";

const KEY = Symbol.for("pagoda.domainChecksWaker");
type Holder = typeof globalThis & { [KEY]?: (() => void) | null };

export function setDomainWaker(next: (() => void) | null): void {
  (globalThis as Holder)[KEY] = next;
}

export function wakeDomainChecks(): void {
  (globalThis as Holder)[KEY]?.();
}
