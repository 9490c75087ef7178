// Values the integration global setup hands to tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated database on the throw-away Postgres of this test run. */
    databaseUrl: string;
  }
}

export {};
