/**
 * Kept for commands written before the browser tests' setup moved into
 * Playwright's global setup (e2e/global-setup.ts): the same as
 * `npm run test:e2e -- <arguments>`.
 */
import { spawn } from "node:child_process";

const child = spawn("node_modules/.bin/playwright", ["test", ...process.argv.slice(2)], { stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
