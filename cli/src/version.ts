import manifest from "../package.json" with { type: "json" };

export const VERSION: string = manifest.version;
/** The dashboard records a bearer deploy sent with this agent as made by the CLI. */
export const USER_AGENT = `pagoda-cli/${VERSION}`;
