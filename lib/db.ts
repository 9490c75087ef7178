import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { getConfig } from "@/lib/config";

// One client per process. In development Next reloads modules on every edit,
// so the instance is parked on globalThis to avoid leaking connection pools.
const globalForDb = globalThis as unknown as { pagodaDb?: PrismaClient };

export function db(): PrismaClient {
  globalForDb.pagodaDb ??= new PrismaClient({
    adapter: new PrismaPg({ connectionString: getConfig().DATABASE_URL }),
  });
  return globalForDb.pagodaDb;
}

export { Prisma } from "@/lib/generated/prisma/client";
export type { Site, Tenant, User, Deploy, Membership } from "@/lib/generated/prisma/client";
