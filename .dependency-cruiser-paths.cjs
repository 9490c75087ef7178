/** Paths shared by the two layer-check configurations, .dependency-cruiser.cjs and .dependency-cruiser-tests.cjs. */

// Tests and tooling are left out of the layer graph. A test sits in the folder of the code it tests
// but wires real parts together (a route under test, Postgres, a cluster), so its imports say
// nothing about the layers and would show folder cycles that product code does not have; the
// same holds for the development tooling (scripts/, local-cluster/, bench/). What remains checked
// for them is in .dependency-cruiser-tests.cjs: product code never imports them, and no cycles.
// The test helpers that sit next to product code are named here one by one.
const testsAndTooling = [
  "\\.test\\.tsx?$",
  "^(tests|e2e|bench|scripts|local-cluster)/",
  "(^|/)(test-support|int-test-support|test-fixtures|gc-suite|s3-test-server)\\.ts$",
  "^(playwright|vitest|prisma)\\.config\\.m?ts$",
];
// What tools and builds write: never source.
const buildOutputs = ["^(\\.next|\\.tools|\\.data|build|coverage|test-results|playwright-report)/"];

module.exports = { buildOutputs, testsAndTooling };
