import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";
import { slotKey } from "@/lib/deploys/admission";
import { DEFAULT_ADMISSION_LIMITS, NODE_REQUEST_TIMEOUT_MS } from "@/lib/uploads/limits";

const valid = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};

function issues(env: Record<string, string>): string {
  try {
    parseConfig({ ...valid, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return "";
}

describe("upload limit configuration", () => {
  it("has defaults that match the library's, with the deadline ahead of Node's own request timeout", () => {
    const config = parseConfig(valid);
    expect(config.PAGODA_UPLOADS_PER_TENANT).toBe(DEFAULT_ADMISSION_LIMITS.perTenant);
    expect(config.PAGODA_UPLOADS_PER_PROCESS).toBe(DEFAULT_ADMISSION_LIMITS.perProcess);
    expect(config.PAGODA_UPLOAD_IDLE_SECONDS * 1000).toBe(DEFAULT_ADMISSION_LIMITS.idleTimeoutMs);
    expect(config.PAGODA_UPLOAD_DEADLINE_SECONDS * 1000).toBe(DEFAULT_ADMISSION_LIMITS.deadlineMs);
    expect(config.PAGODA_UPLOAD_DISK_RESERVE_BYTES).toBe(DEFAULT_ADMISSION_LIMITS.diskReserveBytes);
    expect(DEFAULT_ADMISSION_LIMITS.deadlineMs).toBeLessThan(NODE_REQUEST_TIMEOUT_MS);
    expect(parseConfig({ ...valid, PAGODA_UPLOAD_DISK_RESERVE_BYTES: "0" }).PAGODA_UPLOAD_DISK_RESERVE_BYTES).toBe(0);
  });

  it.each([
    [{ PAGODA_UPLOADS_PER_TENANT: "0" }, "PAGODA_UPLOADS_PER_TENANT must be at least 1"],
    [{ PAGODA_UPLOADS_PER_PROCESS: "many" }, "PAGODA_UPLOADS_PER_PROCESS must be a whole number"],
    [{ PAGODA_UPLOAD_IDLE_SECONDS: "1.5" }, "PAGODA_UPLOAD_IDLE_SECONDS must be a whole number"],
    [{ PAGODA_UPLOAD_DEADLINE_SECONDS: "300" }, "PAGODA_UPLOAD_DEADLINE_SECONDS must be at most 290"],
    [{ PAGODA_UPLOAD_DISK_RESERVE_BYTES: "-1" }, "PAGODA_UPLOAD_DISK_RESERVE_BYTES must be 0 or more"],
  ])("refuses %o, naming the variable", (env, message) => {
    expect(issues(env)).toContain(message);
  });
});

describe("slotKey", () => {
  it("gives every (tenant, slot) its own signed 64-bit key", () => {
    const keys = new Set<string>();
    for (const tenant of ["t1", "t2", "t10", "t1\u00000"]) for (let slot = 0; slot < 8; slot += 1) keys.add(slotKey(tenant, slot));
    expect(keys.size).toBe(32);
    for (const key of keys) expect(BigInt.asIntN(64, BigInt(key)).toString()).toBe(key);
  });
});
