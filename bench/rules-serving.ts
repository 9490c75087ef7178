// Serving with `_redirects` rules against serving without: `npm run bench:rules -- [--rules 1000] [--seconds 10] [--rounds 3] [--connections 32]`.
//
// Two real nginx processes on the same files, each with the nginx.conf the
// operator renders for a site (operator/children.ts: the spec's rules parsed
// again and compiled into renderNginxConfig), one without rules and one with
// `--rules` exact redirect rules. wrk (Debian's package: `apt-get install -y
// wrk`) loads each in turn, alternating for `--rounds`, so that a change in
// what else the machine runs hits both alike. Printed side by side: requests
// per second, p50 and p99 latency, and the ratio with rules to without.
//
// What is requested: files that exist (pages, a directory index, a
// fingerprinted asset, a precompressed one with Accept-Encoding: gzip), the
// common case, which with rules first passes the rule lookup and then finds
// the file. A second table loads paths that hit a rule (redirects), which
// without rules are 404s. Not part of `npm test`.
import { execFile, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { nginxConfigFor, parseSiteRules } from "@/operator/children";
import { renderNginxConfig } from "@/operator/nginx-config";
import { runNginx, type RunningNginx } from "@/operator/nginx-test-support";
import { findFreePort } from "@/scripts/lib/free-port";

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    rules: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
  },
});
const RULES = Number(args.rules);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);

const FILE_PATHS = ["/", "/about/", "/docs/guide.html", "/assets/app.3f2a9c1b.js", "/logo.svg"];

function redirectsText(count: number): string {
  const lines = ["# Old URLs that must keep working"];
  for (let i = 0; i < count; i += 1) lines.push(`/old/section-${i % 50}/page-${i} /new/section-${i % 50}/page-${i} 301`);
  return `${lines.join("\n")}\n`;
}

/** A few of the rules, spread over the file, for the redirect table. */
function rulePaths(count: number): string[] {
  return [0, Math.floor(count / 3), Math.floor(count / 2), count - 1].map((i) => `/old/section-${i % 50}/page-${i}`);
}

async function makeSite(root: string): Promise<void> {
  const js = "console.log('a fingerprinted bundle');\n".repeat(200);
  const files: Record<string, string | Buffer> = {
    "index.html": `<!doctype html><title>home</title>${"<p>Lorem ipsum dolor sit amet.</p>".repeat(40)}`,
    "about/index.html": "<!doctype html><title>about</title><h1>about</h1>",
    "docs/guide.html": `<!doctype html><title>guide</title>${"<p>Step.</p>".repeat(100)}`,
    "assets/app.3f2a9c1b.js": js,
    "assets/app.3f2a9c1b.js.gz": gzipSync(js),
    "logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "404.html": "<h1>not found</h1>",
  };
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), data);
  }
}

const WRK_SCRIPT = (paths: readonly string[]) => `
local paths = { ${paths.map((p) => JSON.stringify(p)).join(", ")} }
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"durationUs":%d,"socketErrors":%d,"badStatus":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
`;

interface Measured {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  socketErrors: number;
  badStatus: number;
}

async function load(port: number, script: string): Promise<Measured> {
  const { stdout } = await run("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "-s", script, `http://127.0.0.1:${port}`], { maxBuffer: 1 << 20 });
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const r = JSON.parse(line.slice("RESULT ".length)) as {
    requests: number;
    durationUs: number;
    socketErrors: number;
    badStatus: number;
    p50Us: number;
    p99Us: number;
  };
  return { rps: r.requests / (r.durationUs / 1e6), p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, socketErrors: r.socketErrors, badStatus: r.badStatus };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  if (spawnSync("wrk", ["-v"]).error) {
    console.error("wrk is not installed: apt-get install -y wrk");
    process.exit(2);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-rules-"));
  const servers: RunningNginx[] = [];
  try {
    const site = path.join(dir, "site");
    await makeSite(site);
    const text = redirectsText(RULES);
    // The text exactly as the operator renders it for a StaticSite, to check that what is served here is what a pod runs.
    const operatorConf = nginxConfigFor({
      apiVersion: "pagoda.dev/v1alpha1",
      kind: "StaticSite",
      metadata: { name: "bench", namespace: "bench", uid: "bench" },
      spec: { artifact: { url: "http://127.0.0.1/a", digest: `sha256:${"0".repeat(64)}` }, notFoundPage: "/404.html", rules: { redirects: text } },
    });

    const start = async (name: string, withRules: boolean) => {
      const port = await findFreePort();
      const sub = path.join(dir, name);
      await mkdir(path.join(sub, "tmp"), { recursive: true });
      const conf = renderNginxConfig({
        spa: false,
        notFoundPage: "/404.html",
        ...(withRules ? { rules: parseSiteRules({ redirects: text }) } : {}),
        listen: `127.0.0.1:${port}`,
        root: site,
        tempDir: path.join(sub, "tmp"),
        errorLog: path.join(sub, "error.log"),
        accessLog: "/dev/null",
      });
      if (
        withRules &&
        conf.replace(/listen [^;]+;|root [^;]+;|\S*(temp_path|pid|error_log|access_log) [^;]+;/g, "") !==
          operatorConf.replace(/listen [^;]+;|root [^;]+;|\S*(temp_path|pid|error_log|access_log) [^;]+;/g, "")
      ) {
        throw new Error("the benchmark's config differs from the operator's beyond paths and ports");
      }
      const confPath = path.join(sub, "nginx.conf");
      await writeFile(confPath, conf);
      await run("chmod", ["-R", "a+rX", dir]);
      await chmod(dir, 0o755);
      const server = await runNginx(sub, confPath, port);
      servers.push(server);
      return { server, bytes: conf.length };
    };
    const none = await start("none", false);
    const ruled = await start("rules", true);

    const filesScript = path.join(dir, "files.lua");
    const rulesScript = path.join(dir, "rules.lua");
    await writeFile(filesScript, WRK_SCRIPT(FILE_PATHS));
    await writeFile(rulesScript, WRK_SCRIPT(rulePaths(RULES)));

    console.log(
      `nginx ${spawnSync("nginx", ["-v"])
        .stderr.toString()
        .trim()
        .replace(
          /^nginx version: /,
          "",
        )}, wrk 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds alternating; ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    console.log(`config: ${(none.bytes / 1024).toFixed(1)} KiB without rules, ${(ruled.bytes / 1024).toFixed(1)} KiB with ${RULES} rules`);

    for (const [title, script] of [
      ["existing files (" + FILE_PATHS.join(" ") + ")", filesScript],
      ["paths that hit a rule (301 with rules, 404 without)", rulesScript],
    ] as const) {
      const results: Record<"none" | "rules", Measured[]> = { none: [], rules: [] };
      for (let round = 0; round < ROUNDS; round += 1) {
        // Alternate which goes first, so neither always runs on a warmer or cooler machine.
        const order = round % 2 === 0 ? (["none", "rules"] as const) : (["rules", "none"] as const);
        for (const which of order) results[which].push(await load((which === "none" ? none : ruled).server.port, script));
      }
      const row = (name: string, m: Measured[]) => ({
        config: name,
        "req/s (median)": Math.round(median(m.map((x) => x.rps))),
        "req/s per round": m.map((x) => Math.round(x.rps)).join(" / "),
        "p50 ms": median(m.map((x) => x.p50Ms)).toFixed(2),
        "p99 ms": median(m.map((x) => x.p99Ms)).toFixed(2),
        errors: m.reduce((s, x) => s + x.socketErrors, 0),
      });
      console.log(`\n${title}`);
      console.table([row("no rules", results.none), row(`${RULES} rules`, results.rules)]);
      const ratio = median(results.rules.map((x) => x.rps)) / median(results.none.map((x) => x.rps));
      const p99 = median(results.rules.map((x) => x.p99Ms)) / median(results.none.map((x) => x.p99Ms));
      console.log(`throughput with rules / without: ${ratio.toFixed(3)}x (target >= 0.9x); p99 with / without: ${p99.toFixed(2)}x`);
    }
  } finally {
    for (const server of servers) await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
