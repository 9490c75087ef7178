/* eslint-disable @typescript-eslint/no-require-imports -- dependency-cruiser loads its configuration as CommonJS */
/**
 * The part of the layer check that covers tests and tooling, which .dependency-cruiser.cjs leaves
 * out of the layer graph (it says why). They may import any layer, but nothing of the product may
 * import them, and there are no module cycles among them either.
 */
const product = require("./.dependency-cruiser.cjs");
const { buildOutputs, testsAndTooling } = require("./.dependency-cruiser-paths.cjs");

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "product-does-not-import-tests",
      comment:
        "Test helpers and development tooling start throw-away databases and clusters and read test-only settings; " +
        "product code that imported them would ship them, and would escape the layer check, which leaves them out.",
      severity: "error",
      from: { pathNot: testsAndTooling },
      to: { path: testsAndTooling },
    },
    ...product.forbidden.filter((rule) => rule.name === "no-module-cycles"),
  ],
  options: { ...product.options, exclude: { path: buildOutputs } },
};
