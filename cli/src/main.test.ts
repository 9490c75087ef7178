import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Deploy } from "./api";
import { main, pickDeploy, type Io } from "./main";

let home: string;

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), "pagoda-main-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function sink(): NodeJS.WriteStream & { text: () => string } {
  let text = "";
  return { write: (s: string) => ((text += s), true), isTTY: false, text: () => text } as unknown as NodeJS.WriteStream & { text: () => string };
}

async function run(args: string[], env: Record<string, string> = {}, stdin = "") {
  const stdout = sink();
  const stderr = sink();
  const io: Io = { stdout, stderr, stdin: Readable.from([stdin]) as unknown as NodeJS.ReadStream, env: { XDG_CONFIG_HOME: home, ...env } };
  const code = await main(args, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("argument handling", () => {
  it("prints help and the version", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["login", "logout", "deploy", "sites", "deploys", "rollback", "open"]) expect(help.stdout).toContain(command);
    expect((await run(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const deployHelp = await run(["deploy", "--help"]);
    for (const flag of ["--site", "--workspace", "--message", "--no-wait", "--json", "--include-all"]) expect(deployHelp.stdout).toContain(flag);
  });

  it("refuses a deploy without --site, and an unknown command, with exit code 1", async () => {
    const noSite = await run(["deploy", "dist"]);
    expect(noSite.code).toBe(1);
    expect(noSite.stderr).toContain("required option '--site <name>' not specified");
    const unknown = await run(["deplyo"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command 'deplyo'/);
  });

  it("refuses a --timeout that is not a whole number of seconds", async () => {
    const result = await run(["deploy", "dist", "--site", "blog", "--timeout", "soon"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("argument 'soon' is invalid. --timeout takes a whole number of seconds.");
  });

  it("refuses a missing folder before it needs a login or the network", async () => {
    const result = await run(["deploy", path.join(home, "missing"), "--site", "blog"]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/missing does not exist/);
  });

  it("refuses a folder with a symbolic link before it needs a login, as one JSON result with --json", async () => {
    const site = path.join(home, "site");
    await mkdir(site);
    await writeFile(path.join(site, "index.html"), "<h1>hi</h1>");
    const { symlink } = await import("node:fs/promises");
    await symlink("/etc/passwd", path.join(site, "passwd"));
    const result = await run(["deploy", site, "--site", "blog", "--json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      error: {
        code: "symlink",
        message: 'The entry "passwd" is a symbolic link. Links are not allowed; replace it with the file it points to.',
        entry: "passwd",
        hint: "Nothing was uploaded.",
      },
    });
  });

  it("asks for a login when there is no token", async () => {
    const result = await run(["sites"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No API token: you are not logged in.");
    expect(result.stderr).toContain('Run "pagoda login"');
  });

  it("refuses an empty token given on standard input", async () => {
    const result = await run(["login", "--token-stdin"], {}, "  \n");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No token given.");
  });

  it("says it cannot reach a dashboard that is not there", async () => {
    const result = await run(["sites"], { PAGODA_TOKEN: "pgd_x", PAGODA_URL: "http://127.0.0.1:9" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Cannot reach the dashboard at http://127.0.0.1:9");
  });
});

describe("pickDeploy", () => {
  const deploy = (id: string, digest: string): Deploy => ({
    id,
    digest,
    shortDigest: digest.slice(7, 19),
    sizeBytes: 1,
    fileCount: 1,
    state: "superseded",
    error: null,
    message: null,
    source: "cli",
    createdBy: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    finishedAt: null,
    promotedAt: null,
    liveAt: null,
    isTarget: false,
    previewUrl: null,
  });
  const history = [deploy("cm1aaa", "sha256:abcdef0123"), deploy("cm1aab", "sha256:abc999"), deploy("cm2zzz", "sha256:f00d")];

  it("takes an id, a unique start of one, or a unique start of a digest", () => {
    expect(pickDeploy(history, "cm1aab", "blog").id).toBe("cm1aab");
    expect(pickDeploy(history, "cm2", "blog").id).toBe("cm2zzz");
    expect(pickDeploy(history, "sha256:abcd", "blog").id).toBe("cm1aaa");
    expect(pickDeploy(history, "f00d", "blog").id).toBe("cm2zzz");
  });

  it("refuses an ambiguous or unknown reference", () => {
    expect(() => pickDeploy(history, "cm1", "blog")).toThrow(/matches 2 deploys/);
    expect(() => pickDeploy(history, "nope", "blog")).toThrow(/has no deploy "nope"/);
  });
});
