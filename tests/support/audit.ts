import { randomUUID } from "node:crypto";
import { db } from "@/lib/db";

/**
 * Makes every insert into AuditEvent fail in Postgres itself (a CHECK that
 * no row passes, NOT VALID so existing rows stay) while `run` runs: an
 * audit outage without a stand-in for the database.
 */
export async function withAuditWritesFailing<T>(run: () => Promise<T>): Promise<T> {
  const name = `audit_down_${randomUUID().replaceAll("-", "")}`;
  await db().$executeRawUnsafe(`ALTER TABLE "AuditEvent" ADD CONSTRAINT "${name}" CHECK (false) NOT VALID`);
  try {
    return await run();
  } finally {
    await db().$executeRawUnsafe(`ALTER TABLE "AuditEvent" DROP CONSTRAINT "${name}"`);
  }
}
