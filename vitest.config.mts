import path from "node:path";
import { defineConfig } from "vitest/config";

const root = path.dirname(new URL(import.meta.url).pathname);
const sources = ["lib", "app", "operator", "scripts", "local-cluster", "deploy", "tests", "bench", "cli"];

export default defineConfig({
  resolve: {
    alias: {
      "@": root,
      // Tests run server code outside Next.js, where "server-only" would throw: they get its empty
      // module, which is what its exports map gives server code (the react-server condition).
      "server-only": path.join(root, "node_modules/server-only/empty.js"),
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: sources.map((dir) => `${dir}/**/*.test.ts`),
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          environment: "node",
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: sources.map((dir) => `${dir}/**/*.int.test.ts`),
          environment: "node",
          globalSetup: ["tests/global-setup.ts"],
          setupFiles: ["tests/integration-env.ts"],
          // Real servers are shared by the whole run; files run one at a time
          // so that two of them never race on the same cluster-wide objects.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
