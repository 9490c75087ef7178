/**
 * `npm run operator`: builds the operator bundle when a source changed, then
 * runs it the way every other launcher does (scripts/operator-build.ts),
 * passing SIGINT/SIGTERM on so it shuts down gracefully (releasing its lease).
 */
import { spawn } from "node:child_process";
import { operatorCommand } from "@/scripts/operator-build";

void (async () => {
  const { command, args } = await operatorCommand((message) => console.error(message));
  const child = spawn(command, args, { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
})().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
