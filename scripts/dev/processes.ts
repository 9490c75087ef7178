import { spawn, type ChildProcess } from "node:child_process";
import { componentLogger } from "@/lib/log";

const log = componentLogger("processes");

/**
 * Child processes of a local run. Ctrl-C (or SIGTERM) stops them all, in the
 * reverse order of starting, and then runs the registered clean-ups.
 */
export class ProcessGroup {
  private readonly children: { name: string; child: ChildProcess }[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  /** Set by the first shutdown(); its promise never resolves (the process exits). */
  private stopped: Promise<never> | undefined;

  constructor() {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => void this.shutdown(0));
    }
  }

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn(command, args, { env, stdio: ["ignore", "inherit", "inherit"] });
    this.children.push({ name, child });
    child.on("exit", (code, signal) => {
      if (this.stopped) return;
      log.error({ name, code, signal }, `${name} exited unexpectedly; stopping everything`);
      void this.shutdown(1);
    });
    return child;
  }

  onShutdown(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /**
   * Stops everything once. Later calls wait for that same stop: one Ctrl-C
   * in a terminal reaches this process more than once (straight from the
   * terminal, and relayed by npm and tsx), and exiting on the second one
   * left Postgres and the local cluster running.
   */
  shutdown(code: number): Promise<never> {
    this.stopped ??= this.stopAll(code);
    return this.stopped;
  }

  private async stopAll(code: number): Promise<never> {
    for (const { name, child } of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      log.info({ name }, "stopped");
    }
    for (const cleanup of [...this.cleanups].reverse()) {
      await cleanup().catch((error: unknown) => log.error({ err: error }, "clean-up failed"));
    }
    process.exit(code);
  }
}

/**
 * Runs a command to completion in its own process group. For clean-ups: a
 * second Ctrl-C in the terminal goes to the whole foreground group and would
 * otherwise cut the command short halfway (the local cluster half stopped).
 */
export function runDetached(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => (output += chunk.toString());
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

/** Resolves once `url` answers any HTTP status, or rejects after the timeout. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
