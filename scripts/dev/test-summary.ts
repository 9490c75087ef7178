/**
 * Prints one closing line for the whole suite, "N passed, N failed", from
 * the JSON reports of vitest and Playwright. Exits non-zero on any failure
 * or when nothing ran at all.
 */
import { readFileSync } from "node:fs";

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
}
interface PlaywrightReport {
  stats: { expected: number; unexpected: number; flaky: number; skipped: number };
}

const [vitestPath, playwrightPath] = process.argv.slice(2);
const vitest = JSON.parse(readFileSync(vitestPath!, "utf8")) as VitestReport;
const playwright = JSON.parse(readFileSync(playwrightPath!, "utf8")) as PlaywrightReport;

const passed = vitest.numPassedTests + playwright.stats.expected;
const failed = vitest.numFailedTests + playwright.stats.unexpected + playwright.stats.flaky;
const skipped = vitest.numPendingTests + playwright.stats.skipped;

console.log(`vitest: ${vitest.numPassedTests} passed, ${vitest.numFailedTests} failed`);
console.log(`playwright: ${playwright.stats.expected} passed, ${playwright.stats.unexpected + playwright.stats.flaky} failed`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
