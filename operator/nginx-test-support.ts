// A real nginx for the tests that serve rendered configurations (nginx.int.test.ts,
// nginx-rules.int.test.ts): started on a written nginx.conf, ready once it answers
// the health path, stopped gracefully.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

export interface RunningNginx {
  port: number;
  stop(): Promise<void>;
}

/**
 * Runs nginx in the foreground on `confPath` (prefix and error log in `dir`)
 * and resolves once `/healthz` answers 200 on `port`; an nginx that exits
 * first fails with its stderr and error log.
 */
export async function runNginx(dir: string, confPath: string, port: number): Promise<RunningNginx> {
  const child = spawn("nginx", ["-p", dir, "-e", path.join(dir, "error.log"), "-c", confPath, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exitCode !== undefined) {
      const log = await readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
      throw new Error(`nginx exited with ${exitCode} before serving:\n${stderr}\n${log}`);
    }
    const ok = await get(port, "/healthz").then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not answer /healthz on ${port} within 15 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (exitCode === undefined) {
        child.kill("SIGQUIT");
        await exited;
      }
    },
  };
}
