import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/** Secrets a local run needs. Generated once, kept in a git-ignored file, never hard-coded. */
const GENERATED = ["NEXTAUTH_SECRET", "PAGODA_ARTIFACT_SECRET"] as const;

export async function loadLocalSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = path.join(dataDir, "secrets.env");
  const values = new Map<string, string>();
  if (existsSync(file)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match) values.set(match[1]!, match[2]!);
    }
  }
  let changed = false;
  for (const name of GENERATED) {
    if (!values.has(name)) {
      values.set(name, randomBytes(32).toString("base64url"));
      changed = true;
    }
  }
  if (changed) {
    await mkdir(dataDir, { recursive: true });
    const body = [...values].map(([key, value]) => `${key}=${value}`).join("\n");
    await writeFile(file, `# Generated on first run. Keep private; delete to rotate.\n${body}\n`, { mode: 0o600 });
  }
  // Variables set by the caller win over the file.
  for (const [key, value] of values) env[key] ??= value;
  return file;
}
