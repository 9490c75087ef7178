import type { z } from "zod";
import type { deploySchema, siteSchema, tokenInfoSchema } from "../../lib/api/schemas";
import { CliError } from "./errors";
import { USER_AGENT } from "./version";

export interface ApiErrorBody {
  error?: { code?: unknown; message?: unknown; entry?: unknown };
}

// The shapes the dashboard answers with, from the schemas its routes are typed by (types only:
// nothing of lib/api reaches the bundle).
export type TokenInfo = z.infer<typeof tokenInfoSchema>;
export type Site = z.infer<typeof siteSchema>;
export type Deploy = z.infer<typeof deploySchema>;

/** The hint under a refusal says what the person can do about it; the message stays the server's. */
export function hintFor(status: number, code: string, headers?: Headers): string | undefined {
  if (status === 401) return 'Run "pagoda login" with a valid token (or set PAGODA_TOKEN).';
  if (status === 403 && /scope/i.test(code)) return "Create a token with the scope it needs on the workspace settings page.";
  if (status === 403) return undefined;
  if (status === 404) return "Check the name, and the workspace (--workspace) the token belongs to.";
  if (status === 429) {
    const after = headers?.get("retry-after");
    return after && /^\d+$/.test(after) ? `Try again in ${after} s.` : "Try again in a moment.";
  }
  return undefined;
}

/** Turns a refused response into the server's own words plus a hint. */
export async function errorFromResponse(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => "");
  let body: ApiErrorBody | null = null;
  try {
    body = JSON.parse(text) as ApiErrorBody;
  } catch {
    body = null;
  }
  const code = typeof body?.error?.code === "string" ? body.error.code : `http_${response.status}`;
  const message =
    typeof body?.error?.message === "string" ? body.error.message : `The dashboard answered ${response.status} ${response.statusText || ""}`.trim() + ".";
  const entry = typeof body?.error?.entry === "string" ? body.error.entry : undefined;
  const hint = hintFor(response.status, code, response.headers);
  return new CliError(code, message, { status: response.status, ...(entry === undefined ? {} : { entry }), ...(hint === undefined ? {} : { hint }) });
}

export function unreachable(url: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new CliError("unreachable", `Cannot reach the dashboard at ${url} (${why}).`, {
    hint: "Check the address given to pagoda login --url (or PAGODA_URL).",
    cause: error,
  });
}

export class Api {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, "user-agent": USER_AGENT, accept: "application/json", ...extra };
  }

  /** A request whose refusal becomes a CliError; the response is returned unread. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        ...init,
        headers: this.headers((init.headers as Record<string, string> | undefined) ?? {}),
        redirect: "manual",
      });
    } catch (error) {
      throw unreachable(this.baseUrl, error);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new CliError("bad_response", `The dashboard at ${this.baseUrl} did not answer ${path} with JSON.`, { cause: error });
    }
  }

  whoami(): Promise<{ token: TokenInfo }> {
    return this.json("/api/token");
  }

  sites(workspace: string): Promise<{ sites: Site[] }> {
    return this.json(`/api/tenants/${enc(workspace)}/sites`);
  }

  site(workspace: string, site: string): Promise<{ site: Site }> {
    return this.json(`/api/tenants/${enc(workspace)}/sites/${enc(site)}`);
  }

  deploys(workspace: string, site: string): Promise<{ deploys: Deploy[] }> {
    return this.json(`/api/tenants/${enc(workspace)}/sites/${enc(site)}/deploys`);
  }

  promote(workspace: string, site: string, deploy: string): Promise<{ deploy: Deploy }> {
    return this.json(`/api/tenants/${enc(workspace)}/sites/${enc(site)}/deploys/${enc(deploy)}/promote`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
  }
}

export const enc = encodeURIComponent;
