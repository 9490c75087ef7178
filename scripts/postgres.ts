/**
 * A local Postgres server that needs no system configuration: its own data
 * directory, bound to 127.0.0.1 only, started and stopped by this module.
 *
 *   tsx scripts/postgres.ts start|stop|status [--data-dir D] [--port P]
 *
 * Postgres refuses to run as root, so when we are root every server command
 * runs as the `postgres` OS user (which Debian's package creates) and the data
 * directory is handed over to it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, link, mkdir, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { componentLogger } from "@/lib/log";
import { portIsFree } from "@/scripts/lib/free-port";

const log = componentLogger("postgres");

export const DEFAULT_DATA_DIR = ".data/postgres";
export const DEFAULT_PORT = 54329;
/** Superuser created by initdb; also the name of the default database. */
export const ROLE = "pagoda";
const SERVER_OS_USER = "postgres";
const START_TIMEOUT_MS = 60_000;
/** Longest Unix socket path the kernel accepts (sun_path is 108 bytes). */
const MAX_SOCKET_PATH = 107;

export interface PostgresOptions {
  dataDir: string;
  port: number;
  /**
   * Trade durability for speed (no fsync). For throw-away test servers only:
   * a crash can corrupt such a data directory.
   */
  ephemeral?: boolean;
  /** The setting that chose the port, named when the port is taken. */
  portSetting?: string;
}

export interface RunningPostgres {
  /** URL of the `pagoda` database as the `pagoda` superuser. */
  url: string;
  /** True when the server was already running and this call only attached to it. */
  reused: boolean;
  /** Fast shutdown: rolls back open transactions and waits for the exit. */
  stop(): Promise<void>;
}

/** Where the server binaries are: PG_BIN_DIR, else the newest Debian install. */
export async function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const required = ["initdb", "pg_ctl", "postgres"];
  const complete = (dir: string): boolean => required.every((bin) => existsSync(path.join(dir, bin)));
  if (env.PG_BIN_DIR) {
    if (!complete(env.PG_BIN_DIR)) {
      throw new Error(`PG_BIN_DIR=${env.PG_BIN_DIR} does not contain ${required.join(", ")}`);
    }
    return env.PG_BIN_DIR;
  }
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? await readdir(base) : [];
  const newest = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(base, v, "bin"))
    .find(complete);
  if (!newest) {
    throw new Error(
      `No PostgreSQL server binaries found (looked in PG_BIN_DIR and ${base}/*/bin). ` +
        "Install them with `apt-get install postgresql` or set PG_BIN_DIR to a directory holding initdb, pg_ctl and postgres.",
    );
  }
  return newest;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

interface Command {
  file: string;
  args: string[];
}

/** The command line for a server tool, as the postgres user when we are root. */
function asServerUser(file: string, args: string[]): Command {
  return isRoot() ? { file: "runuser", args: ["-u", SERVER_OS_USER, "--", file, ...args] } : { file, args };
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: Command, cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command.file, command.args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(new Error(`could not run ${command.file} ${command.args.join(" ")}`, { cause: error }));
        return;
      }
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

async function runChecked(command: Command, cwd: string, what: string): Promise<RunResult> {
  const result = await run(command, cwd);
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit code ${result.code}): ${command.file} ${command.args.join(" ")}\n${result.stderr || result.stdout}`.trim());
  }
  return result;
}

async function serverUserIds(): Promise<{ uid: number; gid: number }> {
  const result = await run({ file: "id", args: ["-u", SERVER_OS_USER] }, "/");
  const group = await run({ file: "id", args: ["-g", SERVER_OS_USER] }, "/");
  if (result.code !== 0 || group.code !== 0) {
    throw new Error(
      `Running as root, Postgres must run as the '${SERVER_OS_USER}' OS user, which does not exist. ` +
        "Install the server with `apt-get install postgresql` (it creates the user) or run as a normal user.",
    );
  }
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}

/**
 * As root, hands the data directory to the postgres user and checks that this
 * user can actually reach it: Postgres cannot start in a directory below one
 * that others may not traverse (a 0700 home directory, for instance).
 */
async function prepareOwnership(dataDir: string): Promise<void> {
  if (!isRoot()) return;
  const { uid, gid } = await serverUserIds();
  await chown(dataDir, uid, gid);
  await chmod(dataDir, 0o700);
  const probe = await run({ file: "runuser", args: ["-u", SERVER_OS_USER, "--", "test", "-w", dataDir] }, "/");
  if (probe.code !== 0) {
    throw new Error(
      `The '${SERVER_OS_USER}' OS user cannot reach ${dataDir}: Postgres runs as that user because we are root, ` +
        "so every parent directory must be searchable by others (chmod o+x), " +
        `or choose a data directory elsewhere, e.g. --data-dir ${path.join(os.tmpdir(), "pagoda-postgres")}.`,
    );
  }
}

export function databaseUrl(port: number, database: string = ROLE): string {
  return `postgresql://${ROLE}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** Settings that follow the requested port and data directory on every start. */
function runtimeSettings(dataDir: string, port: number, ephemeral: boolean): string {
  const socket = path.join(dataDir, `.s.PGSQL.${port}`);
  // The socket is a convenience for psql; clients here use TCP. A data dir
  // whose path is too long for a socket simply gets none.
  const socketDirs = socket.length <= MAX_SOCKET_PATH ? dataDir : "";
  const lines = [
    "# Written by scripts/postgres.ts on every start; edits are overwritten.",
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${socketDirs.replaceAll("'", "''")}'`,
    "max_connections = 200",
  ];
  if (ephemeral) lines.push("fsync = off", "synchronous_commit = off", "full_page_writes = off");
  return `${lines.join("\n")}\n`;
}

async function initialise(binDir: string, dataDir: string): Promise<void> {
  log.info({ dataDir }, "initialising a new Postgres data directory");
  await runChecked(asServerUser(path.join(binDir, "initdb"), ["-D", dataDir, "-U", ROLE, "--auth=trust", "--encoding=UTF8", "--locale=C"]), dataDir, "initdb");
  // Only loopback TCP and the private socket are accepted; the server never
  // listens elsewhere either (listen_addresses), so trust stays local.
  const hba = ["# Written by scripts/postgres.ts: local development and tests only.", "local all all trust", "host  all all 127.0.0.1/32 trust", ""].join("\n");
  await writeFile(path.join(dataDir, "pg_hba.conf"), hba);
  const conf = path.join(dataDir, "postgresql.conf");
  await writeFile(conf, `${await readFile(conf, "utf8")}\ninclude_if_exists = 'pagoda.conf'\n`);
}

/** The port of the server running on this data dir, or undefined. */
async function runningPort(binDir: string, dataDir: string): Promise<number | undefined> {
  if (!existsSync(path.join(dataDir, "postmaster.pid"))) return undefined;
  const status = await run(asServerUser(path.join(binDir, "pg_ctl"), ["status", "-D", dataDir]), dataDir);
  // pg_ctl status: 0 running, 3 not running (stale pid file), 4 no data dir.
  if (status.code === 3 || status.code === 4) return undefined;
  if (status.code !== 0) throw new Error(`pg_ctl status failed for ${dataDir}: ${status.stderr || status.stdout}`);
  const pidFile = await readFile(path.join(dataDir, "postmaster.pid"), "utf8");
  const port = Number(pidFile.split("\n")[3]);
  if (!Number.isInteger(port)) throw new Error(`cannot read the port from ${dataDir}/postmaster.pid`);
  return port;
}

async function tailOfLog(dataDir: string): Promise<string> {
  try {
    const text = await readFile(path.join(dataDir, "server.log"), "utf8");
    return text.split("\n").slice(-20).join("\n");
  } catch (error) {
    return `(no server log: ${(error as Error).message})`;
  }
}

/** Polls until the server accepts a real connection, or fails with its log. */
async function waitUntilReady(dataDir: string, port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  for (;;) {
    const client = new pg.Client({ connectionString: databaseUrl(port, "postgres"), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw new Error(`Postgres in ${dataDir} did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms:\n${await tailOfLog(dataDir)}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ensureDefaultDatabase(port: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(port, "postgres") });
  await client.connect();
  try {
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [ROLE]);
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdentifier(ROLE)}`);
  } finally {
    await client.end();
  }
}

/** Stops the server on this data dir if one runs (fast shutdown). */
export async function stopPostgres(dataDir: string): Promise<boolean> {
  const dir = path.resolve(dataDir);
  const binDir = await findPostgresBinaries();
  if ((await runningPort(binDir, dir)) === undefined) return false;
  await runChecked(asServerUser(path.join(binDir, "pg_ctl"), ["stop", "-D", dir, "-m", "fast", "-w"]), dir, "pg_ctl stop");
  log.info({ dataDir: dir }, "Postgres stopped");
  return true;
}

/** The URL of the server running on this data dir, or undefined. */
export async function postgresStatus(dataDir: string): Promise<string | undefined> {
  const dir = path.resolve(dataDir);
  const port = await runningPort(await findPostgresBinaries(), dir);
  return port === undefined ? undefined : databaseUrl(port);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Serialises starts on one data directory across processes (two `npm start`,
 * or a test run next to one): otherwise both could run initdb, or both
 * pg_ctl start, and one would fail. The lock is a file next to the data
 * directory holding the owner's pid; it appears atomically (hard link of a
 * complete file) and one left by a dead process is taken over.
 */
async function withStartLock<T>(dataDir: string, action: () => Promise<T>): Promise<T> {
  const lockPath = `${dataDir}.lock`;
  const candidate = `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(candidate, `${process.pid}\n`);
  const deadline = Date.now() + 2 * START_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        await link(candidate, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new Error(`cannot create the start lock ${lockPath}`, { cause: error });
        }
      }
      const holder = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
      if (Number.isInteger(holder) && holder > 0 && !processIsAlive(holder)) {
        log.warn({ lockPath, holder }, "taking over the start lock of a process that is gone");
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`another process (pid ${holder}) has been starting Postgres on ${dataDir} for too long; see ${lockPath}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await unlink(candidate);
  }
  try {
    return await action();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * Starts (initialising if empty) or reuses the server on `dataDir`, and
 * resolves once it accepts connections. Safe to call from several processes
 * at once.
 */
export async function ensurePostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  return withStartLock(dataDir, () => startOrReuse(dataDir, options));
}

async function startOrReuse(dataDir: string, options: PostgresOptions): Promise<RunningPostgres> {
  const { port } = options;
  const binDir = await findPostgresBinaries();
  const handle = (reused: boolean): RunningPostgres => ({
    url: databaseUrl(port),
    reused,
    stop: async () => {
      await stopPostgres(dataDir);
    },
  });

  const running = await runningPort(binDir, dataDir);
  if (running !== undefined) {
    if (running !== port) {
      throw new Error(`Postgres on ${dataDir} already runs on port ${running}, not ${port}; stop it first or use that port`);
    }
    log.info({ dataDir, port }, "reusing the running Postgres");
    await waitUntilReady(dataDir, port);
    await ensureDefaultDatabase(port);
    return handle(true);
  }

  const entries = await readdir(dataDir);
  const initialised = entries.includes("PG_VERSION");
  if (!initialised && entries.length > 0) {
    throw new Error(`${dataDir} is neither empty nor a Postgres data directory; refusing to initialise it`);
  }
  // Postgres would only say "could not bind" deep in its log; say which
  // setting to change instead.
  if (!(await portIsFree(port))) {
    const hint = options.portSetting ? `set ${options.portSetting} to a free port, or stop that program` : "choose a free port, or stop that program";
    throw new Error(`Cannot start Postgres: port ${port} is already in use by another program; ${hint}.`);
  }
  await prepareOwnership(dataDir);
  if (!initialised) await initialise(binDir, dataDir);
  await writeFile(path.join(dataDir, "pagoda.conf"), runtimeSettings(dataDir, port, options.ephemeral ?? false));

  log.info({ dataDir, port, binDir }, "starting Postgres");
  // pg_ctl -w notices a postmaster that dies while starting (bad config, port
  // taken); accepting connections is then proven by connecting below.
  const started = await run(
    asServerUser(path.join(binDir, "pg_ctl"), ["start", "-w", "-t", String(START_TIMEOUT_MS / 1000), "-D", dataDir, "-l", path.join(dataDir, "server.log")]),
    dataDir,
  );
  if (started.code !== 0) {
    throw new Error(`Postgres in ${dataDir} did not start on port ${port}:\n${started.stderr || started.stdout}\n${await tailOfLog(dataDir)}`);
  }
  await waitUntilReady(dataDir, port);
  await ensureDefaultDatabase(port);
  log.info({ dataDir, port }, "Postgres is ready");
  return handle(false);
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** URL of database `name` on the same server as `url`. */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

async function withClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** Creates database `name` on the server of `url`; returns its URL. */
export async function createDatabase(url: string, name: string): Promise<string> {
  await withClient(url, (client) => client.query(`CREATE DATABASE ${quoteIdentifier(name)}`)).catch((error: unknown) => {
    throw new Error(`could not create database ${name}`, { cause: error });
  });
  return withDatabase(url, name);
}

/** Drops database `name` (if it exists), disconnecting its sessions. */
export async function dropDatabase(url: string, name: string): Promise<void> {
  await withClient(url, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`)).catch((error: unknown) => {
    throw new Error(`could not drop database ${name}`, { cause: error });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export { findFreePort } from "@/scripts/lib/free-port";

function parseArgs(argv: string[]): { command: string | undefined; dataDir: string; port: number } {
  let dataDir = DEFAULT_DATA_DIR;
  let port = DEFAULT_PORT;
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--data-dir" || arg === "--port") {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      if (arg === "--data-dir") dataDir = value;
      else {
        port = Number(value);
        if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid port: ${value}`);
      }
    } else if (command === undefined) command = arg;
    else throw new Error(`unexpected argument: ${arg}`);
  }
  return { command, dataDir, port };
}

async function main(argv: string[]): Promise<number> {
  const { command, dataDir, port } = parseArgs(argv);
  switch (command) {
    case "start": {
      const server = await ensurePostgres({ dataDir, port });
      process.stdout.write(`${server.url}\n`);
      return 0;
    }
    case "stop":
      process.stdout.write((await stopPostgres(dataDir)) ? "stopped\n" : "not running\n");
      return 0;
    case "status": {
      const url = await postgresStatus(dataDir);
      process.stdout.write(url ? `running ${url}\n` : "stopped\n");
      return url ? 0 : 3;
    }
    default:
      process.stderr.write("usage: tsx scripts/postgres.ts start|stop|status [--data-dir D] [--port P]\n");
      return 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      log.fatal({ err: error }, "postgres command failed");
      process.exitCode = 1;
    },
  );
}
