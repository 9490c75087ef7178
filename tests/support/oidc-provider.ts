/**
 * A real OpenID provider for tests: panva's certified `oidc-provider`, on a
 * loopback port, with one client for Pagoda and accounts the test defines.
 * Sign-in and consent are the package's own development pages (any password
 * is accepted for a defined login), which tests drive with fetch or a browser.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration } from "oidc-provider";

export interface TestIdentity {
  /** The subject, which is also what is typed into the provider's login field. */
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Adds or replaces an account; takes effect for the next sign-in. */
  define(identity: TestIdentity): void;
  stop(): Promise<void>;
}

export interface OidcProviderOptions {
  /** Where Pagoda's callback is: `<NEXTAUTH_URL>/api/auth/callback/oidc`. */
  redirectUri: string;
  accounts?: TestIdentity[];
  /** For logins not defined one by one (a browser test in another process): the account a login stands for. */
  directory?: (login: string) => TestIdentity | undefined;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<TestOidcProvider> {
  const accounts = new Map<string, TestIdentity>();
  for (const account of options.accounts ?? []) accounts.set(account.sub, account);
  const lookup = (login: string) => accounts.get(login) ?? options.directory?.(login);

  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = "pagoda";
  const clientSecret = randomBytes(24).toString("base64url");
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    // The login typed into the development sign-in page is the account id and subject; an undefined one cannot sign in.
    async findAccount(_ctx, id) {
      const account = lookup(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: account.sub, email: account.email, email_verified: account.email_verified, name: account.name ?? account.sub };
        },
      };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    pkce: { required: () => true },
    // Short, and said, so the provider does not warn about its defaults on every token.
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    jwks: { keys: [{ ...(privateKey.export({ format: "jwk" }) as object), kid: "test-key", use: "sig", alg: "RS256" }] },
  };
  const provider = new Provider(issuer, configuration);
  provider.on("server_error", (_ctx, error) => console.error("oidc test provider:", error));
  handler = provider.callback();

  return {
    issuer,
    clientId,
    clientSecret,
    define(identity) {
      accounts.set(identity.sub, identity);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
