import "server-only";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { getConfig } from "@/lib/config";
import { processSingleton } from "@/lib/process-singleton";

/** The process's one client, and so its one connection pool. */
export function db(): PrismaClient {
  return processSingleton("db", () => new PrismaClient({ adapter: new PrismaPg({ connectionString: getConfig().DATABASE_URL }) }));
}

export { Prisma } from "@/lib/generated/prisma/client";
export type { Site, Tenant, User, Deploy, Membership } from "@/lib/generated/prisma/client";
