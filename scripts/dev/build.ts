/**
 * The dashboard's production build (`next build` into .next), made only when
 * something it reads changed: `npm start` and the browser tests both serve it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const BUILD_INPUTS = ["app", "lib", "instrumentation.ts", "proxy.ts", "next.config.mjs", "package-lock.json", "postcss.config.mjs", "tsconfig.json"];

/** True when a file the build reads is newer than the last build. */
export function buildIsStale(): boolean {
  const marker = ".next/BUILD_ID";
  if (!existsSync(marker)) return true;
  const builtAt = statSync(marker).mtimeMs;
  const newer = execFileSync("find", [...BUILD_INPUTS, "-newer", marker, "-type", "f", "-print", "-quit"], { encoding: "utf8" });
  return newer.trim() !== "" || statSync("lib/generated/prisma/client.ts").mtimeMs > builtAt;
}

/** Runs `next build` in the current directory when the last build is missing or stale; says so first. */
export function buildIfStale(say: (message: string) => void): void {
  if (!buildIsStale()) return;
  say("building the dashboard (next build)");
  execFileSync("node_modules/.bin/next", ["build"], { stdio: "inherit" });
}
