// Values the integration global setup hands to tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated database on the throw-away Postgres of this test run. */
    databaseUrl: string;
    /** Admin kubeconfig of the run's shared control plane (CRDs installed). */
    kubeconfigPath: string;
    /** The run's Mailpit: PAGODA_SMTP_URL, and its web API (GET /api/v1/messages…) to read what arrived. */
    smtpUrl: string;
    mailpitUrl: string;
    /** The run's DNS server (zone `test`); change records through sharedDnsServer() in tests/support/dns.ts. */
    dnsServer: { address: string; dir: string; zones: string[] };
  }
}

export {};
