/* eslint-disable @typescript-eslint/no-require-imports -- dependency-cruiser loads its configuration as CommonJS */
/**
 * The layer rule of docs/developing.md ("Layers"), checked by `npm run lint:layers`
 * (part of `npm test`):
 *
 *   app → domain (lib/sites, lib/deploys, lib/publishing, …) → lib/kube, lib/staticsite, db
 *   operator → lib/kube, lib/staticsite
 *
 * Type-only imports count: a type that crosses a layer couples the layers just as much.
 */

const { buildOutputs, testsAndTooling } = require("./.dependency-cruiser-paths.cjs");

// npm packages (under node_modules/) and node: built-ins are always allowed.
const builtIns = { dependencyTypesNot: ["core"] };

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "kube-is-generic",
      comment:
        "lib/kube is the generic Kubernetes runtime shared by the dashboard and the operator. It imports nothing of " +
        "Pagoda's (logging and metrics come in as parameters and hooks), so that neither process drags the other's code " +
        "in and the runtime can be read and tested on its own.",
      severity: "error",
      from: { path: "^lib/kube/" },
      to: { pathNot: ["^lib/kube/", "^node_modules/"], ...builtIns },
    },
    {
      name: "staticsite-is-the-contract",
      comment:
        "lib/staticsite is the StaticSite API contract (types, CRD) that both processes agree on; it may build on lib/kube " +
        "and nothing else, or the contract would change whenever the dashboard or the operator does.",
      severity: "error",
      from: { path: "^lib/staticsite/" },
      to: { pathNot: ["^lib/staticsite/", "^lib/kube/", "^node_modules/"], ...builtIns },
    },
    {
      name: "api-is-pure",
      comment:
        "lib/api is the JSON API's contract: the zod schemas routes parse with, the endpoint list and the OpenAPI document " +
        "made from them. The CLI imports it too, so it stays free of the server: npm packages (zod), itself, and the pure " +
        "input rules it builds on (lib/validation.ts, the site-name rules and the serving modes of lib/staticsite), nothing else.",
      severity: "error",
      from: { path: "^lib/api/" },
      to: {
        pathNot: ["^lib/api/", "^lib/validation\\.ts$", "^lib/staticsite/site-name\\.ts$", "^lib/staticsite/serving\\.ts$", "^node_modules/"],
        ...builtIns,
      },
    },
    {
      name: "operator-stays-out-of-the-dashboard",
      comment:
        "The operator is its own process and image: it talks only to the Kubernetes API. It may use lib/kube, " +
        "lib/staticsite and the one JSON logger, never the dashboard's database, configuration, uploads or publishing.",
      severity: "error",
      from: { path: "^operator/" },
      to: { pathNot: ["^operator/", "^lib/kube/", "^lib/staticsite/", "^lib/log\\.ts$", "^node_modules/"], ...builtIns },
    },
    {
      name: "cli-is-a-client",
      comment:
        "The pagoda CLI runs on a person's machine or in CI and talks to the dashboard only over HTTP. Of Pagoda's code it may " +
        "use the API's schemas (lib/api) and the pure upload modules that word a refusal as the server does (and read .pagodaignore as the dashboard does), never the " +
        "dashboard's server code, database or configuration.",
      severity: "error",
      from: { path: "^cli/" },
      to: {
        pathNot: ["^cli/", "^lib/api/", "^lib/uploads/(errors|format|ignore-file|junk|names|refusals|zip-archive|zip-block-reader)\\.ts$", "^node_modules/"],
        ...builtIns,
      },
    },
    {
      name: "nothing-imports-the-cli",
      comment: "The CLI is a program on top of the API, not a library: the dashboard and the operator must not depend on it.",
      severity: "error",
      from: { pathNot: "^cli/" },
      to: { path: "^cli/" },
    },
    {
      name: "domain-does-not-look-up",
      comment:
        "Domain code (and the foundations beside it in lib/) is used by the routes, never the other way round: it does not " +
        "import pages or routes (app/), the operator, or lib/http. Domain code throws domain errors; lib/http maps them to " +
        "responses, so lib/http may import the domain and not the reverse.",
      severity: "error",
      // lib/kube and lib/staticsite have the stricter rules above.
      from: { path: "^lib/", pathNot: "^lib/(http|kube|staticsite)/" },
      to: { path: "^(app/|operator/|lib/http/)" },
    },
    {
      name: "only-app-imports-app",
      comment:
        "Pages and routes are the top of the dashboard: nothing below may depend on them, or a change to a page could " +
        "break a library. Next.js loads app/ itself.",
      severity: "error",
      from: { pathNot: "^app/" },
      to: { path: "^app/" },
    },
    {
      name: "no-module-cycles",
      comment: "A module cycle has no order in which its modules can be read, tested or loaded; break it by moving the shared part down.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycles",
      comment:
        "Folders are the layers: if lib/a imports lib/b and lib/b imports lib/a (through any files), neither sits above the " +
        "other and the layer rule has no meaning. The check runs on the folder graph dependency-cruiser derives from the " +
        "module graph.",
      severity: "error",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // The generated Prisma client is a leaf like a package: who imports it counts, its insides do not.
    doNotFollow: { path: "^(node_modules|lib/generated)/" },
    exclude: { path: [...buildOutputs, ...testsAndTooling] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
