import "server-only";
import { randomInt } from "node:crypto";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A personal tenant's slug: a readable stem from the email's local part plus
 * a random suffix, e.g. `alice-k3x9q2`. It is part of every site host name
 * (`<site>-<tenant>`) and of the namespace, so it stays a short DNS label:
 * at most 12 + 1 + 6 = 19 characters.
 */
export function tenantSlugFromEmail(email: string, random: (n: number) => number = randomInt): string {
  const local = email.split("@")[0] ?? "";
  const stem =
    local
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 12)
      .replace(/-+$/g, "") || "site";
  let suffix = "";
  for (let i = 0; i < 6; i += 1) suffix += ALPHABET[random(ALPHABET.length)];
  return `${stem}-${suffix}`;
}

const NAMESPACE_PREFIX = "pagoda-";

/** Kubernetes namespace holding one tenant's StaticSites. */
export function tenantNamespace(tenantSlug: string): string {
  return `${NAMESPACE_PREFIX}${tenantSlug}`;
}

/** The tenant whose namespace this is (the inverse of tenantNamespace), or null for any other namespace. */
export function tenantOfNamespace(namespace: string): string | null {
  return namespace.startsWith(NAMESPACE_PREFIX) && namespace.length > NAMESPACE_PREFIX.length ? namespace.slice(NAMESPACE_PREFIX.length) : null;
}
