import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDatabase, dropDatabase, ensurePostgres, findFreePort, postgresStatus, stopPostgres, withDatabase } from "@/scripts/postgres";

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("ensurePostgres", () => {
  let root: string;
  let dataDir: string;
  let port: number;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "pagoda-postgres-test-"));
    // As root the server runs as the postgres user, who must pass through.
    await chmod(root, 0o755);
    dataDir = path.join(root, "data");
    port = await findFreePort();
  });

  afterAll(async () => {
    try {
      await stopPostgres(dataDir);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("initialises and starts one server when several callers ask at once", async () => {
    const servers = await Promise.all([1, 2, 3].map(() => ensurePostgres({ dataDir, port, ephemeral: true })));
    expect(new Set(servers.map((s) => s.url))).toEqual(new Set([`postgresql://pagoda@127.0.0.1:${port}/pagoda`]));
    expect(servers.filter((s) => !s.reused)).toHaveLength(1);

    const [row] = await query<{ user: string; db: string; listen: string }>(
      servers[0]?.url ?? "",
      "SELECT current_user AS user, current_database() AS db, current_setting('listen_addresses') AS listen",
    );
    expect(row).toEqual({ user: "pagoda", db: "pagoda", listen: "127.0.0.1" });
  });

  it("refuses a different port for the server already running on the directory", async () => {
    const other = await findFreePort();
    await expect(ensurePostgres({ dataDir, port: other })).rejects.toThrow(`already runs on port ${port}`);
  });

  it("names the setting to change when another program holds the port, and initialises nothing", async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    const freshDir = path.join(root, "untouched");
    try {
      await expect(ensurePostgres({ dataDir: freshDir, port: taken, portSetting: "PAGODA_POSTGRES_PORT" })).rejects.toThrow(
        `port ${taken} is already in use by another program; set PAGODA_POSTGRES_PORT to a free port`,
      );
      expect(await readdir(freshDir)).toEqual([]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("stops, reports it, and starts again on the same data", async () => {
    const server = await ensurePostgres({ dataDir, port, ephemeral: true });
    await query(server.url, "CREATE TABLE kept (id int)");
    expect(await postgresStatus(dataDir)).toBe(server.url);

    await server.stop();
    expect(await postgresStatus(dataDir)).toBeUndefined();
    await expect(query(server.url, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);

    const again = await ensurePostgres({ dataDir, port, ephemeral: true });
    expect(again.reused).toBe(false);
    expect(await query(again.url, "SELECT count(*)::int AS n FROM kept")).toEqual([{ n: 0 }]);
  });
});

describe("createDatabase / dropDatabase", () => {
  it("create a usable database and remove it even while connected", async () => {
    const serverUrl = inject("databaseUrl");
    const name = `helpers_${Date.now()}`;
    const url = await createDatabase(serverUrl, name);
    expect(url).toBe(withDatabase(serverUrl, name));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    client.on("error", () => undefined);
    try {
      expect((await client.query("SELECT current_database() AS db")).rows).toEqual([{ db: name }]);
      await dropDatabase(serverUrl, name);
    } finally {
      await client.end().catch(() => undefined);
    }
    expect(await query(serverUrl, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).toEqual([]);
  });
});
