import { defineConfig } from "@playwright/test";
import { dashboardNodeOptions } from "./lib/node-options";

const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://localhost:${port}`;

/**
 * End-to-end tests drive the built dashboard in Debian's Chromium (no
 * browser download). `e2e/run.ts` provides the database and secrets; this
 * file starts the dashboard itself.
 */
export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  // Two cores: one browser at a time keeps timings honest and the server responsive.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  outputDir: "test-results",
  use: {
    baseURL,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-quic",
      ],
    },
  },
  webServer: {
    command: `node_modules/.bin/next start -p ${port} -H ${process.env.E2E_HOST ?? "127.0.0.1"}`,
    url: `${baseURL}/signin`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      ...(process.env as Record<string, string>),
      NODE_ENV: "production",
      NODE_OPTIONS: dashboardNodeOptions(process.env.NODE_OPTIONS),
      NEXTAUTH_URL: baseURL,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    },
  },
});
