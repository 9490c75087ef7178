import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, test } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");
let dir: string | undefined;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a second Ctrl-C while stopping neither ends the stop early nor cuts a clean-up command short", async () => {
  dir = mkdtempSync(path.join(tmpdir(), "pagoda-process-group-"));
  const marker = path.join(dir, "cleaned");
  const script = path.join(dir, "run.ts");
  // A clean-up that takes a while and runs a command, like stopping the local cluster.
  writeFileSync(
    script,
    `import { ProcessGroup, runDetached } from ${JSON.stringify(path.join(repoRoot, "scripts/dev/processes.ts"))};
const group = new ProcessGroup();
const child = group.start("sleeper", "sleep", ["60"]);
group.onShutdown(() => {
  const cleaning = runDetached("bash", ["-c", "sleep 0.3; echo cleaned > ${marker}"]);
  // spawn() returns once the command has started in its own group.
  console.log("cleaning");
  return cleaning;
});
console.log("ready " + child.pid);
`,
  );
  // One process (tsx as a loader, not its CLI, which would relay signals
  // itself), leading its own process group as a terminal's foreground job does.
  const run = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: repoRoot,
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, LOG_LEVEL: "info" },
  });
  const exited = new Promise<number | null>((resolve) => run.once("exit", (code) => resolve(code)));
  let out = "";
  const printed = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m) {
          run.stdout.off("data", onData);
          resolve(m);
        }
      };
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        check();
      };
      run.stdout.on("data", onData);
      run.once("exit", () => reject(new Error(`exited before printing ${pattern}: ${out}`)));
      check();
    });
  const childPid = Number((await printed(/ready (\d+)/))[1]);

  // One Ctrl-C reaches this process more than once under npm and tsx, and
  // a second Ctrl-C reaches the whole group, the clean-up's command too.
  // The second signal goes once the first has stopped the child and the
  // clean-up's command has started (two signals sent at once would merge
  // into one; sent between fork and the new group, it would reach the
  // command still in ours, which a loaded machine once showed).
  run.kill("SIGINT");
  await printed(/"name":"sleeper".*"msg":"stopped"[\s\S]*^cleaning$/m);
  process.kill(-(run.pid as number), "SIGINT");

  expect(await exited).toBe(0);
  expect(readFileSync(marker, "utf8")).toBe("cleaned\n");
  expect(alive(childPid)).toBe(false);
});
