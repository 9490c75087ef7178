// The site's `_redirects` and `_headers`, read from the zip and checked with
// the same parsers the operator compiles them with, before anything is
// stored: a deploy whose rules nginx would not serve is refused with the
// file, the line and what is wrong.
import { MAX_RULES_FILE_BYTES, parseHeaders, parseRedirects, type RuleError } from "@/lib/staticsite/rules";
import { UploadError } from "./errors";
import { formatBytes } from "./format";
import type { InspectResult, PlannedFile } from "./inspect";
import { readSmallFile } from "./normalize";
import type { ZipBlockReader } from "./zip-block-reader";
import type { ZipFile } from "./zip-archive";

export const REDIRECTS_FILE = "_redirects";
export const HEADERS_FILE = "_headers";

/** Text of each file as uploaded (null: not in the deploy). */
export interface SiteRulesText {
  redirects: string | null;
  headers: string | null;
}

/** Errors quoted in the refusal; the count of the rest follows. */
const ERRORS_SHOWN = 5;

function refusal(file: PlannedFile, name: string, errors: readonly RuleError[]): UploadError {
  const lines = errors.slice(0, ERRORS_SHOWN).map((e) => (e.line === 0 ? e.message : `${name} ${e.message}`));
  const more = errors.length - ERRORS_SHOWN;
  if (more > 0) lines.push(`and ${more} more ${more === 1 ? "error" : "errors"} in ${name}`);
  return new UploadError("invalid_rules", lines.join("\n"), { entry: file.source });
}

async function readRulesFile(zip: ZipFile, reader: ZipBlockReader, file: PlannedFile, name: string): Promise<string> {
  // The zip's own claim first, so that a large file is refused before it is inflated.
  const claimed = file.location.uncompressedSize;
  if (claimed > MAX_RULES_FILE_BYTES) {
    throw new UploadError("invalid_rules", `${name} is ${formatBytes(claimed)}; at most ${formatBytes(MAX_RULES_FILE_BYTES)} are allowed.`, {
      entry: file.source,
    });
  }
  // Bytes that are not UTF-8 become U+FFFD, which the parsers refuse by name.
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(await readSmallFile(zip, reader, file));
}

/**
 * Reads and checks `_redirects` and `_headers` at the site root (after the
 * wrapping folder is stripped). Throws `invalid_rules` for any bad line;
 * returns the text as uploaded, which the StaticSite carries. `proxyOrigins`:
 * the platform's PAGODA_PROXY_ORIGINS; empty, every proxy rule is refused.
 */
export async function checkSiteRules(zip: ZipFile, reader: ZipBlockReader, plan: InspectResult, proxyOrigins: readonly string[] = []): Promise<SiteRulesText> {
  const byPath = new Map(plan.files.map((file) => [file.path, file]));
  const rules: SiteRulesText = { redirects: null, headers: null };
  const redirects = byPath.get(REDIRECTS_FILE);
  if (redirects) {
    const text = await readRulesFile(zip, reader, redirects, REDIRECTS_FILE);
    const parsed = parseRedirects(text, { proxyOrigins });
    if (!parsed.ok) throw refusal(redirects, REDIRECTS_FILE, parsed.errors);
    rules.redirects = text;
  }
  const headers = byPath.get(HEADERS_FILE);
  if (headers) {
    const text = await readRulesFile(zip, reader, headers, HEADERS_FILE);
    const parsed = parseHeaders(text);
    if (!parsed.ok) throw refusal(headers, HEADERS_FILE, parsed.errors);
    rules.headers = text;
  }
  return rules;
}
