/** Where the browser tests' dashboard listens: read by playwright.config.ts and by the global setup that starts it. */
export const dashboardPort = Number(process.env.E2E_PORT ?? 3100);
export const dashboardUrl = `http://localhost:${dashboardPort}`;
