import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { formatBytes } from "../../lib/uploads/format";
import { Api, enc, type Deploy } from "./api";
import { DEFAULT_URL, normaliseUrl, readLogin, removeLogin, resolveCredentials, writeLogin, type Env } from "./config";
import { CliError } from "./errors";
import { reporterFor, silentReporter, type Reporter } from "./progress";
import { promptHidden, readAll } from "./prompt";
import { waitForLive } from "./status";
import { uploadBody, uploadZipFile } from "./upload";
import { VERSION } from "./version";
import { walkFolder, type WalkResult } from "./walk";
import { checkZipEntries, zipStream } from "./zip";

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: Env;
}

const defaultIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

/** Runs one command; resolves with the exit code (never calls process.exit, so tests can run it in-process). */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const program = buildProgram(io);
  let json = false;
  program.hook("preAction", (_, action) => {
    json = Boolean(action.opts().json);
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const cliError = error instanceof CliError ? error : new CliError("internal", error instanceof Error ? error.message : String(error));
    if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: cliError.toJSON() })}\n`);
    else {
      io.stderr.write(`Error: ${cliError.message}\n`);
      if (cliError.hint) io.stderr.write(`${cliError.hint}\n`);
    }
    return 1;
  }
}

export function buildProgram(io: Io): Command {
  const program = new Command("pagoda")
    .description("Deploy static sites to a Pagoda dashboard.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError()
    .addHelpText("after", `\nAuthentication: "pagoda login" stores a token; PAGODA_TOKEN and PAGODA_URL override it (for CI).\nDocumentation: docs/cli.md.`);

  program
    .command("login")
    .description("Check an API token and store it, with the dashboard's address, for later commands")
    .option("--url <dashboard>", `the dashboard's address (default: PAGODA_URL, the stored one, or ${DEFAULT_URL})`)
    .option("--token-stdin", "read the token from standard input instead of prompting")
    .action(async (opts: { url?: string; tokenStdin?: boolean }) => {
      const stored = await readLogin(io.env).catch(() => null);
      const url = normaliseUrl(opts.url ?? (io.env.PAGODA_URL?.trim() || stored?.url || DEFAULT_URL));
      let token: string;
      if (opts.tokenStdin) token = await readAll(io.stdin);
      else if (io.stdin.isTTY) token = await promptHidden(`API token for ${url}: `, io.stdin, io.stderr);
      else
        throw new CliError("no_token", "No token given: standard input is not a terminal.", { hint: 'Pipe the token in with "pagoda login --token-stdin".' });
      token = token.trim();
      if (!token) throw new CliError("no_token", "No token given.", { hint: "Create one on the workspace settings page." });
      const { token: info } = await new Api(url, token).whoami();
      const file = await writeLogin({ url, token, workspace: info.workspace.slug }, io.env);
      io.stdout.write(`Logged in to ${url} with the token "${info.name}" of the workspace ${info.workspace.slug} (${info.scopes.join(", ")}).\n`);
      io.stderr.write(`Stored in ${file}.\n`);
    });

  program
    .command("logout")
    .description("Forget the stored token (it stays valid until revoked on the settings page)")
    .action(async () => {
      const removed = await removeLogin(io.env);
      io.stdout.write(removed ? "Logged out; the token stays valid until it is revoked on the settings page.\n" : "Not logged in.\n");
    });

  program
    .command("deploy")
    .description("Deploy a folder (zipped here, streaming) or a .zip to a site, then wait for it to go Live")
    .argument("<folder|zip>", "the built site: a folder holding index.html, or a zip of one")
    .requiredOption("--site <name>", "the site to deploy to")
    .option("--workspace <slug>", "the workspace (default: the token's)")
    .option("--message <text>", "a note kept with the deploy in its history")
    .option("--no-promote", "store the deploy without pointing the site at it, and print its preview address")
    .option("--no-wait", "return once the deploy is accepted, without waiting for Live")
    .option("--include-all", "keep .git and node_modules (left out by default)")
    .addOption(new Option("--timeout <seconds>", "how long to wait for Live").default(600).argParser(positiveInt("--timeout")))
    .option("--json", "print one JSON result and nothing else")
    .action(async (target: string, opts: DeployOptions) => {
      const reporter = opts.json ? silentReporter : reporterFor(io.stderr);
      const result = await deploy(target, opts, io, reporter);
      if (opts.json) io.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
      else if (!opts.promote)
        io.stdout.write(
          result.deploy.previewUrl
            ? `Preview: ${result.deploy.previewUrl}\nPromote it with "pagoda promote ${opts.site} ${result.deploy.id}".\n`
            : `Deploy ${result.deploy.id} stored, not promoted; this site's name leaves no room for a preview address.\n`,
        );
      else if (result.url && result.phase === "Live") io.stdout.write(`Live: ${result.url}\n`);
      else io.stdout.write(`Deploy ${result.deploy.id} accepted; it goes live by itself. Follow it with "pagoda deploys ${opts.site}".\n`);
    });

  program
    .command("sites")
    .description("List the workspace's sites")
    .option("--workspace <slug>", "the workspace (default: the token's)")
    .option("--json", "print JSON")
    .action(async (opts: { workspace?: string; json?: boolean }) => {
      const { api, workspace } = await connect(io.env, opts.workspace);
      const { sites } = await api.sites(workspace);
      if (opts.json) return void io.stdout.write(`${JSON.stringify({ ok: true, workspace, sites })}\n`);
      if (sites.length === 0) return void io.stdout.write(`The workspace ${workspace} has no sites yet.\n`);
      table(
        io.stdout,
        ["NAME", "DEPLOYS", "URL"],
        sites.map((s) => [s.name, String(s.deployCount), s.url]),
      );
    });

  program
    .command("deploys")
    .description("A site's deploy history, newest first (* marks the one the site serves)")
    .argument("<site>")
    .option("--workspace <slug>", "the workspace (default: the token's)")
    .option("--json", "print JSON")
    .action(async (site: string, opts: { workspace?: string; json?: boolean }) => {
      const { api, workspace } = await connect(io.env, opts.workspace);
      const { deploys } = await api.deploys(workspace, site);
      if (opts.json) return void io.stdout.write(`${JSON.stringify({ ok: true, workspace, site, deploys })}\n`);
      if (deploys.length === 0) return void io.stdout.write(`${site} has no deploys yet.\n`);
      table(
        io.stdout,
        ["", "ID", "STATE", "CREATED", "BY", "MESSAGE"],
        deploys.map((d) => [
          d.isTarget ? "*" : "",
          d.id,
          d.state,
          d.createdAt,
          d.createdBy ? `${d.createdBy.name}${d.source ? ` (${d.source})` : ""}` : (d.source ?? ""),
          (d.message ?? d.error ?? "").split("\n")[0] ?? "",
        ]),
      );
    });

  program
    .command("rollback")
    .alias("promote")
    .description("Point the site at a deploy: an earlier one, or one sent with --no-promote (by id, a unique start of its id, or of its digest)")
    .argument("<site>")
    .argument("<deploy>")
    .option("--workspace <slug>", "the workspace (default: the token's)")
    .option("--no-wait", "return once the site is pointed at it, without waiting for Live")
    .addOption(new Option("--timeout <seconds>", "how long to wait for Live").default(600).argParser(positiveInt("--timeout")))
    .option("--json", "print JSON")
    .action(async (site: string, ref: string, opts: { workspace?: string; wait: boolean; timeout: number; json?: boolean }) => {
      const { api, workspace } = await connect(io.env, opts.workspace);
      const chosen = pickDeploy((await api.deploys(workspace, site)).deploys, ref, site);
      const { deploy: promoted } = await api.promote(workspace, site, chosen.id);
      let url: string | null = null;
      if (opts.wait && promoted.digest) {
        if (!opts.json) io.stderr.write(`Rolling ${site} back to ${promoted.id}; waiting for Live…\n`);
        url = (await waitForLive(api, workspace, site, promoted.digest, { timeoutMs: opts.timeout * 1000 })).url ?? null;
      }
      if (opts.json) io.stdout.write(`${JSON.stringify({ ok: true, workspace, site, deploy: promoted, url })}\n`);
      else io.stdout.write(url ? `Live: ${url}\n` : `${site} now points at ${promoted.id}.\n`);
    });

  program
    .command("open")
    .description("Open a site in the browser (and print its URL)")
    .argument("<site>")
    .option("--workspace <slug>", "the workspace (default: the token's)")
    .option("--print", "only print the URL")
    .action(async (site: string, opts: { workspace?: string; print?: boolean }) => {
      const { api, workspace } = await connect(io.env, opts.workspace);
      const { site: found } = await api.site(workspace, site);
      io.stdout.write(`${found.url}\n`);
      if (!opts.print) openInBrowser(found.url, io);
    });

  return program;
}

export interface DeployOptions {
  site: string;
  workspace?: string;
  message?: string;
  /** false (--no-promote): the site stays where it was; the deploy answers at its preview address. */
  promote: boolean;
  wait: boolean;
  includeAll?: boolean;
  timeout: number;
  json?: boolean;
}

export interface DeployResult {
  workspace: string;
  site: string;
  deploy: Deploy;
  url: string | null;
  phase: string | null;
  bytes: number;
  files: number | null;
  /** checkMs: listing the folder (or reading the zip's table of contents); sendMs: zipping and sending, which overlap. */
  timings: { checkMs: number; sendMs: number; processingMs: number; liveMs: number | null };
}

export async function deploy(target: string, opts: DeployOptions, io: Io, reporter: Reporter): Promise<DeployResult> {
  const started = performance.now();
  const info = await stat(target).catch((error: NodeJS.ErrnoException) => {
    throw new CliError("not_found", error.code === "ENOENT" ? `${target} does not exist.` : `${target} cannot be read (${error.code}).`);
  });
  // Everything that can be refused from the folder or zip alone is refused before the first request.
  let walked: WalkResult | null = null;
  if (info.isDirectory()) walked = await walkFolder(target, { includeAll: opts.includeAll });
  else if (info.isFile()) await checkZipEntries(target);
  else throw new CliError("not_a_folder", `${target} is neither a folder nor a zip file.`);
  const checkedAt = performance.now();

  const { api, workspace } = await connect(io.env, opts.workspace);
  const params = new URLSearchParams();
  if (opts.message !== undefined) params.set("message", opts.message);
  if (opts.promote === false) params.set("promote", "false");
  const query = params.size > 0 ? `?${params.toString()}` : "";
  const uploadPath = `/api/tenants/${enc(workspace)}/sites/${enc(opts.site)}/deploys${query}`;
  const sendingAt = performance.now();
  let sentAt = 0;
  let bytes = 0;
  const onProcessing = () => {
    sentAt = performance.now();
    reporter.uploadEnd();
    reporter.step("Processing…");
  };
  let deployed: Deploy;
  if (walked) {
    // The zip is written and sent at once (chunked): neither the folder nor the zip is ever held, and no temp file is needed.
    reporter.step(`Zipping and uploading ${groupThousands(walked.files.length)} files (${formatBytes(walked.totalBytes)})`);
    reporter.uploadStart(walked.totalBytes);
    let taken = 0;
    const zipped = zipStream(walked.files, (n) => (taken += n));
    const upload = uploadBody(api, uploadPath, zipped.output, null, {
      onProgress: (sent) => {
        bytes = sent;
        reporter.uploadProgress(taken, walked.totalBytes, sent);
      },
      onProcessing,
    });
    deployed = (await Promise.all([upload, zipped.done]))[0];
  } else {
    bytes = info.size;
    reporter.uploadStart(bytes);
    deployed = await uploadZipFile(api, uploadPath, target, bytes, {
      onProgress: (sent, total) => reporter.uploadProgress(sent, total ?? bytes, sent),
      onProcessing,
    });
  }
  const acceptedAt = performance.now();
  sentAt ||= acceptedAt;
  const timings = {
    checkMs: checkedAt - started,
    sendMs: sentAt - sendingAt,
    processingMs: acceptedAt - sentAt,
    liveMs: null as number | null,
  };
  const base = { workspace, site: opts.site, deploy: deployed, bytes, files: walked?.files.length ?? null, timings };
  // An unpromoted deploy changes nothing that could go Live.
  if (!opts.wait || opts.promote === false || !deployed.digest) return { ...base, url: null, phase: null };
  reporter.step(`Deploy ${deployed.id} stored; waiting for it to go Live…`);
  let lastPhase = "";
  const live = await waitForLive(api, workspace, opts.site, deployed.digest, {
    timeoutMs: opts.timeout * 1000,
    onPhase: (event) => {
      if (event.phase !== lastPhase && event.phase !== "Live") reporter.step(`  ${event.phase}: ${event.message}`);
      lastPhase = event.phase;
    },
  });
  timings.liveMs = performance.now() - acceptedAt;
  return { ...base, url: live.url ?? (await api.site(workspace, opts.site)).site.url, phase: live.phase };
}

/** The token's workspace unless one is named; a stored login already knows it. */
export async function connect(env: Env, workspace?: string): Promise<{ api: Api; workspace: string }> {
  const creds = await resolveCredentials(env);
  const api = new Api(creds.url, creds.token);
  const slug = workspace ?? creds.workspace ?? (await api.whoami()).token.workspace.slug;
  return { api, workspace: slug };
}

export function pickDeploy(deploys: readonly Deploy[], ref: string, site: string): Deploy {
  const exact = deploys.find((d) => d.id === ref);
  if (exact) return exact;
  const wanted = ref.replace(/^sha256:/, "").toLowerCase();
  const matches = deploys.filter((d) => d.id.startsWith(ref) || (wanted.length >= 4 && (d.digest ?? "").replace(/^sha256:/, "").startsWith(wanted)));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new CliError("ambiguous_deploy", `"${ref}" matches ${matches.length} deploys of ${site}; give more of its id.`);
  throw new CliError("deploy_not_found", `${site} has no deploy "${ref}" among its latest ${deploys.length}.`, {
    hint: `List them with "pagoda deploys ${site}".`,
  });
}

/**
 * "10,000": by hand, because the first toLocaleString loads the ICU data,
 * which adds about 25 MB to the CLI's peak memory for one comma.
 */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^[1-9][0-9]{0,6}$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number of seconds.`);
    return Number(value);
  };
}

function table(out: NodeJS.WritableStream, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  for (const row of [header, ...rows]) out.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`.trimStart());
}

function openInBrowser(url: string, io: Io): void {
  const [command, args] =
    process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  const child = spawn(command, args as string[], { stdio: "ignore", detached: true });
  child.on("error", () => io.stderr.write(`Could not start ${command}; open the URL above yourself.\n`));
  child.unref();
}
