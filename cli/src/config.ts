import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CliError } from "./errors";

export interface StoredLogin {
  url: string;
  token: string;
  /** The token's workspace, learnt from GET /api/token at login. */
  workspace?: string;
}

export type Env = Record<string, string | undefined>;

export const DEFAULT_URL = "http://localhost:3000";

/** $XDG_CONFIG_HOME/pagoda, else ~/.config/pagoda. */
export function configDir(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), ".config");
  return path.join(base, "pagoda");
}

export function configFile(env: Env = process.env): string {
  return path.join(configDir(env), "config.json");
}

export async function readLogin(env: Env = process.env): Promise<StoredLogin | null> {
  const file = configFile(env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError("bad_config", `The login stored in ${file} is not valid JSON.`, { hint: 'Run "pagoda login" again.' });
  }
  const value = parsed as Partial<StoredLogin> | null;
  if (!value || typeof value.url !== "string" || typeof value.token !== "string") {
    throw new CliError("bad_config", `The login stored in ${file} has no url and token.`, { hint: 'Run "pagoda login" again.' });
  }
  return { url: value.url, token: value.token, ...(typeof value.workspace === "string" ? { workspace: value.workspace } : {}) };
}

/**
 * The token is a secret: the folder is 0700 and the file 0600 from the moment
 * it exists (written under another name with that mode, then renamed over),
 * so no other user can read it even for an instant.
 */
export async function writeLogin(login: StoredLogin, env: Env = process.env): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = configFile(env);
  const temp = path.join(dir, `.config.json.${process.pid}.tmp`);
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(login, null, 2)}\n`);
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return file;
}

/** True when a stored login was removed. */
export async function removeLogin(env: Env = process.env): Promise<boolean> {
  const file = configFile(env);
  try {
    await rm(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

export interface Credentials {
  url: string;
  token: string;
  /** Known without asking the server: the stored login's workspace, when its token is the one in use. */
  workspace?: string;
  from: "env" | "config";
}

/** PAGODA_TOKEN and PAGODA_URL (for CI) override the stored login, each on its own. */
export async function resolveCredentials(env: Env = process.env): Promise<Credentials> {
  const stored = await readLogin(env);
  const envToken = env.PAGODA_TOKEN?.trim();
  const url = normaliseUrl(env.PAGODA_URL?.trim() || stored?.url || DEFAULT_URL);
  if (envToken) return { url, token: envToken, from: "env" };
  if (!stored) {
    throw new CliError("not_logged_in", "No API token: you are not logged in.", {
      hint: 'Run "pagoda login" with a token from the workspace settings page, or set PAGODA_TOKEN.',
    });
  }
  return { url, token: stored.token, ...(stored.workspace ? { workspace: stored.workspace } : {}), from: "config" };
}

export function normaliseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError("bad_url", `"${raw}" is not a URL; give the dashboard's address, like ${DEFAULT_URL}.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError("bad_url", `"${raw}" is not an http or https URL.`);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}
