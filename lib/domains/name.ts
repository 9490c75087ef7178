// What a custom domain may be. Pure: the dashboard's host, the base domain
// and the wildcard switch come in as parameters, so the rules are tested on
// their own and every caller (the API, the page) judges a name the same way.

import { domainToASCII, domainToUnicode } from "node:url";
import { parse as parseHost } from "tldts";

/** The ASCII form (what DNS and the StaticSite hold) and what a person reads; equal for plain ASCII names. */
export interface DomainName {
  ascii: string;
  unicode: string;
}

export interface DomainNameRules {
  /** NEXTAUTH_URL's host: the dashboard itself. */
  dashboardHost: string;
  /** PAGODA_BASE_DOMAIN: the built-in site addresses live under it. */
  baseDomain: string;
  /** PAGODA_DOMAINS_ALLOW_WILDCARD. */
  allowWildcard: boolean;
  /** PAGODA_ALLOW_SAME_SITE_SITES: the dashboard's registrable domain may be shared (a local setup). */
  allowSameSite?: boolean;
}

export type DomainNameErrorCode =
  "domain_invalid" | "domain_single_label" | "domain_wildcard" | "domain_dashboard_host" | "domain_base_domain" | "domain_mixed_scripts";

export class DomainNameError extends Error {
  constructor(
    readonly code: DomainNameErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "DomainNameError";
  }
}

const MAX_NAME_LENGTH = 253;
const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Trimmed, lower-case, without the one trailing dot of a fully qualified name. */
export function normaliseDomain(input: string): string {
  const trimmed = input.trim().toLowerCase();
  return trimmed.endsWith(".") ? trimmed.slice(0, -1) : trimmed;
}

function under(name: string, parent: string): boolean {
  return name === parent || name.endsWith(`.${parent}`);
}

// Scripts a label may not mix. Han with the Japanese kana, or with Hangul,
// is how those languages are written, so those mixes are allowed; any other
// pair (Latin with Cyrillic, Latin with Greek, …) is how look-alike names of
// other sites are made.
const SCRIPTS = [
  "Latin",
  "Cyrillic",
  "Greek",
  "Armenian",
  "Georgian",
  "Hebrew",
  "Arabic",
  "Syriac",
  "Thaana",
  "Devanagari",
  "Bengali",
  "Gurmukhi",
  "Gujarati",
  "Oriya",
  "Tamil",
  "Telugu",
  "Kannada",
  "Malayalam",
  "Sinhala",
  "Thai",
  "Lao",
  "Tibetan",
  "Myanmar",
  "Khmer",
  "Mongolian",
  "Ethiopic",
  "Cherokee",
  "Han",
  "Hiragana",
  "Katakana",
  "Bopomofo",
  "Hangul",
] as const;
const SCRIPT_RES = SCRIPTS.map((script) => [script, new RegExp(`^\\p{Script=${script}}$`, "u")] as const);
const NEUTRAL_RE = /^[\p{Script=Common}\p{Script=Inherited}]$/u;
const CJK_GROUPS: readonly (readonly string[])[] = [
  ["Han", "Hiragana", "Katakana"],
  ["Han", "Bopomofo"],
  ["Han", "Hangul"],
];

function scriptOf(char: string): string | null {
  if (NEUTRAL_RE.test(char)) return null;
  for (const [script, re] of SCRIPT_RES) if (re.test(char)) return script;
  return "Other";
}

/** The scripts of a label's letters (digits, hyphens and marks belong to none), when they are a mix no language writes. */
export function mixedScripts(label: string): string[] | null {
  const scripts = new Set<string>();
  for (const char of label) {
    const script = scriptOf(char);
    if (script) scripts.add(script);
  }
  if (scripts.size < 2) return null;
  const list = [...scripts];
  if (CJK_GROUPS.some((group) => list.every((script) => group.includes(script)))) return null;
  return list;
}

function invalid(shown: string, why: string): DomainNameError {
  return new DomainNameError("domain_invalid", `${shown} is not a valid domain name: ${why}.`);
}

/** Checks the ASCII labels after IDNA; `shown` is what the person typed, for the message. */
function checkLabels(ascii: string, shown: string): void {
  if (ascii.length > MAX_NAME_LENGTH) throw invalid(shown, `at most ${MAX_NAME_LENGTH} characters in its ASCII form, it has ${ascii.length}`);
  for (const label of ascii.split(".")) {
    if (label === "") throw invalid(shown, "it has an empty label (two dots in a row, or a dot at the start)");
    if (label.length > 63) throw invalid(shown, `the label ${label.slice(0, 20)}… is longer than 63 characters`);
    if (!LABEL_RE.test(label)) {
      throw invalid(shown, `the label ${JSON.stringify(label)} may hold only letters, digits and hyphens, and may not start or end with a hyphen`);
    }
    if (label.startsWith("xn--")) {
      // Must be real punycode that decodes to something else, or it is a name no registry would hand out.
      const decoded = domainToUnicode(label);
      if (decoded === label || decoded === "" || domainToASCII(decoded) !== label) throw invalid(shown, `${label} is not valid punycode`);
    } else if (label.slice(2, 4) === "--") {
      throw invalid(shown, `the label ${label} has -- in the third and fourth place, which is reserved for encoded names`);
    }
  }
  const tld = ascii.slice(ascii.lastIndexOf(".") + 1);
  if (/^[0-9]+$/.test(tld)) throw invalid(shown, "it looks like an IP address; use a domain name");
}

/**
 * The normalised ASCII and Unicode forms of a custom domain, or a
 * DomainNameError with the rule it breaks. `www.Bücher.de.` becomes
 * `www.xn--bcher-kva.de` (shown as `www.bücher.de`).
 */
export function parseDomainName(input: string, rules: DomainNameRules): DomainName {
  const normal = normaliseDomain(input);
  const shown = JSON.stringify(input.trim()).slice(0, 120);
  if (normal === "") throw new DomainNameError("domain_invalid", "Enter a domain name, such as www.example.com.");
  if (/[\s/:@?#\\]/.test(normal)) throw invalid(shown, "enter the name alone, without a scheme, port, path or spaces (for example www.example.com)");

  let wildcard = false;
  let rest = normal;
  if (normal.startsWith("*.")) {
    wildcard = true;
    rest = normal.slice(2);
  }
  if (rest.includes("*")) throw invalid(shown, "a * may only stand alone as the first label (*.example.com)");
  if (wildcard && !rules.allowWildcard) {
    throw new DomainNameError("domain_wildcard", "Wildcard domains (*.example.com) are not allowed on this installation. Add each name on its own.");
  }

  const restAscii = domainToASCII(rest);
  if (restAscii === "") throw invalid(shown, "it holds characters no domain name may have");
  checkLabels(restAscii, shown);
  const restUnicode = domainToUnicode(restAscii);

  for (const label of restUnicode.split(".")) {
    const scripts = mixedScripts(label);
    if (scripts) {
      throw new DomainNameError(
        "domain_mixed_scripts",
        `${restUnicode} (${restAscii}) mixes ${scripts.join(" and ")} letters in the label ${JSON.stringify(label)}, which is how look-alikes of other names are made. Use one script per label.`,
      );
    }
  }

  if (!restAscii.includes(".")) {
    throw new DomainNameError(
      "domain_single_label",
      `${restAscii} is a single label; a custom domain has at least two, such as example.com or www.example.com.`,
    );
  }

  const ascii = wildcard ? `*.${restAscii}` : restAscii;
  const unicode = wildcard ? `*.${restUnicode}` : restUnicode;
  const dashboard = normaliseDomain(rules.dashboardHost);
  const base = normaliseDomain(rules.baseDomain);

  // A name under the dashboard's host could set cookies the dashboard reads; the host itself is the dashboard.
  if (under(restAscii, dashboard) || (wildcard && under(dashboard, restAscii))) {
    throw new DomainNameError("domain_dashboard_host", `${ascii} is the dashboard's own address (or lies under it), so it cannot be a site's domain.`);
  }
  if (!rules.allowSameSite) {
    const dashboardParsed = parseHost(dashboard, { allowPrivateDomains: true });
    const registrable = parseHost(restAscii, { allowPrivateDomains: true }).domain;
    if (!dashboardParsed.isIp && dashboardParsed.domain && registrable === dashboardParsed.domain) {
      throw new DomainNameError(
        "domain_dashboard_host",
        `${ascii} shares the registrable domain ${registrable} with the dashboard, so a site there could set cookies the dashboard reads. Use a domain of its own.`,
      );
    }
  }
  if (under(restAscii, base) || (wildcard && under(base, restAscii))) {
    throw new DomainNameError(
      "domain_base_domain",
      `${ascii} lies under ${base}, where this installation gives every site its built-in address; it cannot be added as a custom domain.`,
    );
  }
  return { ascii, unicode };
}

/** How a stored ASCII name reads to a person: `bücher.de`, or the name itself. */
export function unicodeForm(ascii: string): string {
  if (!ascii.split(".").some((label) => label.startsWith("xn--"))) return ascii;
  const wildcard = ascii.startsWith("*.");
  const decoded = domainToUnicode(wildcard ? ascii.slice(2) : ascii);
  return decoded === "" ? ascii : wildcard ? `*.${decoded}` : decoded;
}
