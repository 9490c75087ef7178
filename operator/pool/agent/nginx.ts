// nginx as the agent's child: one master in the foreground, configurations
// checked with `nginx -t` before they replace the running one, and a reload by
// SIGHUP, which nginx does gracefully (new workers take new connections, the
// old ones finish the requests they have and exit).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import http from "node:http";
import { promisify } from "node:util";
import { backoffDelay } from "@/lib/kube/backoff";
import { componentLogger } from "@/lib/log";
import { CONTROL_PATH } from "./render";

const log = componentLogger("pool-nginx");
const run = promisify(execFile);

export interface NginxOptions {
  binary: string;
  /** nginx's prefix (relative paths); the work dir. */
  prefix: string;
  /** The configuration file the master reads at start and at every reload. */
  confPath: string;
  controlPort: number;
}

export class NginxConfigTestError extends Error {
  override readonly name = "NginxConfigTestError";
}

/** Flags that keep nginx off the read-only root: the error log before the configuration is read goes to stderr. */
function baseArgs(opts: NginxOptions): string[] {
  return ["-p", opts.prefix.endsWith("/") ? opts.prefix : `${opts.prefix}/`, "-e", "stderr"];
}

/** Runs `nginx -t` on `file`; throws NginxConfigTestError with nginx's own words. */
export async function testNginxConfig(opts: NginxOptions, file: string): Promise<void> {
  try {
    await run(opts.binary, [...baseArgs(opts), "-q", "-t", "-c", file], { maxBuffer: 4 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    if (stderr === undefined) throw error;
    throw new NginxConfigTestError(stderr.slice(0, 4000) || String(error), { cause: error });
  }
}

function controlGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: CONTROL_PATH, agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`control answered ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("control request timed out")));
    req.on("error", reject);
  });
}

/** The master's children (its workers), from /proc. */
async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  // Kernels without CONFIG_PROC_CHILDREN: every process's parent, the slow way.
  const out: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    // The field after the `(comm)`, which may itself hold spaces or parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) out.push(Number(name));
  }
  return out;
}

/**
 * True once the worker `pid` of master `parent` takes no new connections:
 * gone, or titled "shutting down", which nginx sets in the same step, with
 * no event handled in between, as it closes its listening sockets.
 */
async function stoppedAccepting(pid: number, parent: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== parent) return true;
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).includes("shutting down");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ESRCH") return true;
    throw error;
  }
}

export class NginxProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private resolveExit!: (v: { code: number | null; signal: NodeJS.Signals | null }) => void;

  constructor(private readonly opts: NginxOptions) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True once stop() was called: an exit after that is the one asked for. */
  get isStopping(): boolean {
    return this.stopping;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the master on confPath and resolves once its workers answer `applyId` on the control port. */
  async start(applyId: string): Promise<void> {
    const child = spawn(this.opts.binary, [...baseArgs(this.opts), "-c", this.opts.confPath, "-g", "daemon off;"], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    this.child = child;
    child.once("exit", (code, signal) => {
      if (!this.stopping) log.error({ code, signal }, "nginx exited");
      this.resolveExit({ code, signal });
    });
    child.once("error", (error) => {
      log.error({ err: error }, "nginx could not be started");
      this.resolveExit({ code: null, signal: null });
    });
    await this.waitFor(applyId);
  }

  /**
   * Asks the master to load confPath again; resolves once the new workers
   * answer `applyId` and no worker of an earlier configuration accepts a
   * connection any more, so every request from then on gets the new one.
   */
  async reload(applyId: string): Promise<void> {
    const master = this.child?.pid;
    if (!master || !this.running) throw new Error("nginx is not running");
    const old = await childPids(master);
    process.kill(master, "SIGHUP");
    await this.waitFor(applyId, async () => {
      for (const pid of old) if (!(await stoppedAccepting(pid, master))) return false;
      return true;
    });
  }

  private async waitFor(applyId: string, alsoDone: () => Promise<boolean> = async () => true, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    let answered = false;
    for (let attempt = 1; ; attempt++) {
      if (!this.running) throw new Error("nginx exited");
      try {
        answered ||= (await controlGet(this.opts.controlPort)) === applyId;
        if (answered && (await alsoDone())) return;
        last = new Error(answered ? "workers of the previous configuration still accept connections" : "the workers still run the previous configuration");
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`nginx did not run configuration ${applyId} within ${timeoutMs} ms: ${String(last)}`);
      // Starts at a few milliseconds: a reload usually takes that long, and this is the time a push waits.
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, { baseMs: 2, maxMs: 100 })));
    }
  }

  /** Graceful stop (`nginx -s quit`): workers finish their requests; resolves when the master is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child?.pid && this.running) process.kill(this.child.pid, "SIGQUIT");
    if (this.child) await this.exited;
  }
}
