import { mkdir, mkdtemp, rm, stat, writeFile, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configDir, configFile, normaliseUrl, readLogin, removeLogin, resolveCredentials, writeLogin } from "./config";

let home: string;

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), "pagoda-config-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("stored login", () => {
  it("lives under XDG_CONFIG_HOME, else ~/.config", () => {
    expect(configDir({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/a" })).toBe("/x/cfg/pagoda");
    expect(configDir({ HOME: "/home/a" })).toBe("/home/a/.config/pagoda");
    // A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
    expect(configDir({ XDG_CONFIG_HOME: "cfg", HOME: "/home/a" })).toBe("/home/a/.config/pagoda");
  });

  it("is written 0600 in a 0700 folder, also over a folder and file that were open to others", async () => {
    const env = { XDG_CONFIG_HOME: home };
    await mkdir(configDir(env), { recursive: true, mode: 0o755 });
    await chmod(configDir(env), 0o755);
    await writeFile(configFile(env), "{}", { mode: 0o644 });
    const previous = process.umask(0o000);
    try {
      await writeLogin({ url: "http://localhost:3000", token: "pgd_secret", workspace: "acme" }, env);
    } finally {
      process.umask(previous);
    }
    expect((await stat(configFile(env))).mode & 0o777).toBe(0o600);
    expect((await stat(configDir(env))).mode & 0o777).toBe(0o700);
    expect(await readLogin(env)).toEqual({ url: "http://localhost:3000", token: "pgd_secret", workspace: "acme" });
    expect(await removeLogin(env)).toBe(true);
    expect(await readLogin(env)).toBeNull();
    expect(await removeLogin(env)).toBe(false);
  });

  it("says how to fix a damaged file", async () => {
    const env = { XDG_CONFIG_HOME: home };
    await mkdir(configDir(env), { recursive: true });
    await writeFile(configFile(env), "{not json");
    await expect(readLogin(env)).rejects.toThrow(/not valid JSON/);
  });
});

describe("resolveCredentials", () => {
  it("asks for a login when there is neither a stored one nor PAGODA_TOKEN", async () => {
    await expect(resolveCredentials({ XDG_CONFIG_HOME: home })).rejects.toMatchObject({ code: "not_logged_in", hint: expect.stringContaining("pagoda login") });
  });

  it("lets PAGODA_TOKEN and PAGODA_URL override the stored login, each on its own", async () => {
    const env = { XDG_CONFIG_HOME: home };
    await writeLogin({ url: "https://stored.example", token: "pgd_stored", workspace: "acme" }, env);
    expect(await resolveCredentials(env)).toEqual({ url: "https://stored.example", token: "pgd_stored", workspace: "acme", from: "config" });
    // Another token may belong to another workspace: the stored one is not assumed.
    expect(await resolveCredentials({ ...env, PAGODA_TOKEN: "pgd_ci" })).toEqual({ url: "https://stored.example", token: "pgd_ci", from: "env" });
    expect(await resolveCredentials({ ...env, PAGODA_URL: "http://ci.example:3000/" })).toMatchObject({ url: "http://ci.example:3000", token: "pgd_stored" });
  });

  it("refuses an address that is not http(s)", () => {
    expect(() => normaliseUrl("ftp://x")).toThrow(/not an http or https URL/);
    expect(() => normaliseUrl("localhost:3000")).toThrow();
    expect(normaliseUrl("https://pagoda.example/base/")).toBe("https://pagoda.example/base");
  });
});
