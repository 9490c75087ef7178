import { readFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

export const VERSION = manifest.version;
/** The dashboard records a bearer deploy sent with this agent as made by the CLI. */
export const USER_AGENT = `pagoda-cli/${VERSION}`;
