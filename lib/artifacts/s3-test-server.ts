/**
 * A real S3-compatible server for integration tests: gofakes3, built from
 * the Go module proxy on first use (needs `go`, or PAGODA_GOFAKES3 pointing
 * at a binary), run on loopback with its in-memory backend at low priority.
 */
import { execFile, spawn } from "node:child_process";
import { access, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { findFreePort } from "@/scripts/lib/free-port";

const exec = promisify(execFile);
const GOFAKES3 = "github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0";

export const TEST_S3_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test-secret" };

async function ensureBinary(): Promise<string> {
  const bin = process.env.PAGODA_GOFAKES3 ?? path.join(os.tmpdir(), "pagoda-tools", "gofakes3-v1.2.0", "gofakes3");
  try {
    await access(bin);
    return bin;
  } catch {
    await mkdir(path.dirname(bin), { recursive: true });
    await exec("nice", ["-n", "19", "go", "install", GOFAKES3], { env: { ...process.env, GOBIN: path.dirname(bin) }, maxBuffer: 1 << 22 }).catch(
      (err: unknown) => {
        throw new Error(`cannot build ${GOFAKES3} (is Go installed?): ${String(err)}`, { cause: err });
      },
    );
    return bin;
  }
}

export interface TestS3Server {
  endpoint: string;
  stop(): void;
}

/** Starts gofakes3 with `bucket` created and resolves once it says it is listening. */
export async function startTestS3(bucket: string): Promise<TestS3Server> {
  const bin = await ensureBinary();
  const port = await findFreePort();
  const proc = spawn("nice", ["-n", "19", bin, "-backend", "memory", "-host", `127.0.0.1:${port}`, "-initialbucket", bucket], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let log = "";
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`gofakes3 exited with ${code}: ${log}`)));
    proc.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
      if (log.includes("using port")) resolve();
    });
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => proc.kill() };
}
