import { createHash, randomUUID } from "node:crypto";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { createDatabase, dropDatabase } from "@/scripts/postgres";
import { SHADOW_DATABASE_PREFIX } from "./schema-engine";
import { createMigration, DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, deployMigrations, MIGRATION_LOCK_KEY } from "./migrate";

const serverUrl = inject("databaseUrl");
const created: string[] = [];

async function freshDatabase(): Promise<string> {
  const name = `migrate_test_${randomUUID().replaceAll("-", "")}`;
  created.push(name);
  return createDatabase(serverUrl, name);
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function migrationFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

const migrationRows = (url: string) =>
  query<MigrationRow>(url, "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name");

const leftoverShadows = async () => query<{ datname: string }>(serverUrl, `SELECT datname FROM pg_database WHERE datname LIKE '${SHADOW_DATABASE_PREFIX}%'`);

afterAll(async () => {
  for (const name of created) await dropDatabase(serverUrl, name);
});

describe("deployMigrations", () => {
  let url: string;
  let folders: string[];

  beforeAll(async () => {
    url = await freshDatabase();
    folders = await migrationFolders(DEFAULT_MIGRATIONS_DIR);
  });

  it("creates every table on an empty database and records each migration like Prisma", async () => {
    expect(folders.length).toBeGreaterThan(0);
    const applied = await deployMigrations({ databaseUrl: url });
    expect(applied).toEqual(folders);

    const expectedTables = new Set<string>(["_prisma_migrations"]);
    for (const folder of folders) {
      const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, folder, "migration.sql"), "utf8");
      for (const match of sql.matchAll(/CREATE TABLE "([^"]+)"/g)) expectedTables.add(match[1] ?? "");
    }
    expect(expectedTables).toContain("User");
    expect(expectedTables).toContain("rate_limits");
    const tables = await query<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(new Set(tables.map((t) => t.table_name))).toEqual(expectedTables);

    const rows = await migrationRows(url);
    expect(rows.map((r) => r.migration_name)).toEqual(folders);
    for (const row of rows) {
      // The checksum the native `prisma migrate deploy` compares against.
      const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, row.migration_name, "migration.sql"));
      expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(row.finished_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
    }
  });

  it("applies nothing and records nothing when run again", async () => {
    const before = await migrationRows(url);
    expect(await deployMigrations({ databaseUrl: url })).toEqual([]);
    expect(await migrationRows(url)).toEqual(before);
  });

  it("applies each migration exactly once when several runs start together", async () => {
    const target = await freshDatabase();
    const runs = await Promise.all([1, 2, 3].map(() => deployMigrations({ databaseUrl: target })));
    expect(runs.flat().sort()).toEqual(folders);
    expect((await migrationRows(target)).map((r) => r.migration_name)).toEqual(folders);
  });

  it("waits for the migration lock before touching the database", async () => {
    const target = await freshDatabase();
    const holder = new pg.Client({ connectionString: target });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
      const deploy = deployMigrations({ databaseUrl: target });
      // Proven by Postgres itself: the deploy's session queues on our lock.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const waiting = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`,
        );
        if (waiting.rows[0]?.n === 1) break;
        if (Date.now() > deadline) throw new Error("deploy never waited for the migration lock");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const table = await holder.query<{ t: string | null }>("SELECT to_regclass('_prisma_migrations')::text AS t");
      expect(table.rows[0]?.t).toBeNull();
      await holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]);
      expect(await deploy).toEqual(folders);
    } finally {
      await holder.end();
    }
  });
});

describe("createMigration", () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), "pagoda-migrate-test-"));
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("reports no changes and writes nothing when the schema matches the migrations", async () => {
    const before = await readdir(DEFAULT_MIGRATIONS_DIR);
    const result = await createMigration({ databaseUrl: serverUrl, name: "nothing" });
    expect(result).toEqual({ name: null, sql: null });
    expect(await readdir(DEFAULT_MIGRATIONS_DIR)).toEqual(before);
    expect(await leftoverShadows()).toEqual([]);
  });

  it("writes a migration for a schema change that deploy then applies", async () => {
    const migrationsDir = path.join(workDir, "migrations");
    await cp(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
    const schemaPath = path.join(workDir, "schema.prisma");
    const schema = await readFile(DEFAULT_SCHEMA_PATH, "utf8");
    await writeFile(schemaPath, `${schema}\nmodel Widget {\n  id String @id\n  size Int\n}\n`);

    const result = await createMigration({ databaseUrl: serverUrl, name: "Add widget", migrationsDir, schemaPath });
    expect(result.name).toMatch(/^\d{14}_add_widget$/);
    expect(result.sql).toContain('CREATE TABLE "Widget"');
    expect(result.sql).not.toContain('CREATE TABLE "User"');
    expect(await readFile(path.join(migrationsDir, result.name ?? "", "migration.sql"), "utf8")).toBe(result.sql);
    expect(await leftoverShadows()).toEqual([]);

    const target = await freshDatabase();
    const applied = await deployMigrations({ databaseUrl: target, migrationsDir, schemaPath });
    expect(applied.at(-1)).toBe(result.name);
    const widget = await query(target, 'SELECT id, size FROM "Widget"');
    expect(widget).toEqual([]);

    const again = await createMigration({ databaseUrl: serverUrl, name: "again", migrationsDir, schemaPath });
    expect(again.name).toBeNull();
  });
});

describe("generated Prisma client", () => {
  it("reads and writes the migrated database through the pg adapter", async () => {
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: serverUrl }) });
    try {
      const suffix = randomUUID().slice(0, 8);
      const user = await prisma.user.create({
        data: { email: `owner-${suffix}@example.test`, name: "Owner", passwordHash: "x" },
      });
      const tenant = await prisma.tenant.create({
        data: { slug: `t-${suffix}`, name: "Tenant", memberships: { create: { userId: user.id, role: "owner" } } },
      });
      const found = await prisma.tenant.findUniqueOrThrow({
        where: { id: tenant.id },
        include: { memberships: { include: { user: true } } },
      });
      expect(found.memberships).toHaveLength(1);
      expect(found.memberships[0]?.role).toBe("owner");
      expect(found.memberships[0]?.user.email).toBe(user.email);
      await expect(prisma.user.create({ data: { email: user.email, name: "Twin", passwordHash: "x" } })).rejects.toMatchObject({ code: "P2002" });
    } finally {
      await prisma.$disconnect();
    }
  });
});
