// Values the integration global setup hands to tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated database on the throw-away Postgres of this test run. */
    databaseUrl: string;
    /** Admin kubeconfig of the run's shared control plane (CRDs installed). */
    kubeconfigPath: string;
  }
}

export {};
