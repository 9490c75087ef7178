/**
 * Playwright's global setup: starts e2e/stack.ts (Postgres, a real-node
 * cluster with the operator, and the dashboard) and hands the environment it
 * reports to the test workers, which inherit process.env once this is done.
 * The returned function, Playwright's teardown, stops it all.
 *
 * Why not the config's `webServer` for the dashboard: Playwright starts
 * `webServer` before it runs the global setup, and the dashboard needs the
 * database URL, secrets and kubeconfig made here. Why a process of its own:
 * Playwright loads this file as CommonJS, and the stack's modules (the local
 * cluster, the dev scripts) are ES modules that tsx runs.
 */
import { spawn } from "node:child_process";
import type { StackMessage } from "./stack";

export default async function globalSetup(): Promise<() => Promise<void>> {
  const stack = spawn(process.execPath, ["--import", "tsx", "e2e/stack.ts"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => stack.once("exit", () => resolve()));
  const message = await new Promise<StackMessage>((resolve, reject) => {
    stack.once("message", (message) => resolve(message as StackMessage));
    stack.once("exit", (code, signal) => reject(new Error(`the e2e stack exited before it was ready (${signal ?? `exit ${code}`}); its log is above`)));
  });
  if ("failed" in message) {
    await exited;
    throw new Error(`the e2e stack did not start: ${message.failed}`);
  }
  Object.assign(process.env, message.ready);
  return async () => {
    // Closing the channel is the stack's signal to stop everything it started.
    if (stack.connected) stack.disconnect();
    await exited;
  };
}
