// The rules for a StaticSite's name, written once. The CRD enforces the
// Kubernetes part on every write (kubectl and GitOps included), the dashboard
// checks the same rules first to say exactly what is wrong, and adds the two
// it applies to the names it hands out.

/** Child objects are named after the site; Services need a DNS-1035 label, and suffixes such as `-nginx` need room. */
export const SITE_NAME_MAX_LENGTH = 40;

// Written for both JavaScript and the API server's RE2: no lookarounds, no backreferences.
export const SITE_NAME_PATTERN = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
export const SITE_NAME_RE = new RegExp(SITE_NAME_PATTERN);

const SITE_NAME_CHARS_RE = /^[a-z0-9-]+$/;

/**
 * Why `name` breaks SITE_NAME_PATTERN or the length limit, in words, or null
 * when it does not. The pattern decides; the words only explain it.
 */
export function siteNameProblem(name: string): string | null {
  if (name.length > SITE_NAME_MAX_LENGTH) return `Site names can be at most ${SITE_NAME_MAX_LENGTH} characters.`;
  if (SITE_NAME_RE.test(name)) return null;
  if (!SITE_NAME_CHARS_RE.test(name)) return "Use only lower-case letters, digits and dashes (a-z, 0-9, -).";
  // A letter first: the name also names the site's Kubernetes Service (DNS-1035).
  if (!/^[a-z]/.test(name)) return "Site names must start with a letter.";
  return "Site names must end with a letter or digit.";
}

/** The CEL rules the CRD puts on metadata.name, from the same figures. */
export const SITE_NAME_CEL_RULES = [
  { rule: `self.metadata.name.size() <= ${SITE_NAME_MAX_LENGTH}`, message: `name must be at most ${SITE_NAME_MAX_LENGTH} characters` },
  {
    rule: `self.metadata.name.matches('${SITE_NAME_PATTERN}')`,
    message: "name must start with a letter and contain only lowercase letters, digits and -",
  },
] as const;

/**
 * Names the dashboard does not hand out, on top of the rules above: words
 * that read as part of the platform (`www-<tenant>`, `admin-<tenant>`), and
 * two dashes in a row, which make `<site>-<tenant>` ambiguous to read and
 * look like an IDNA `xn--` label. Sites made with kubectl are not bound by
 * these; their hosts are granted by the operator's host rules.
 */
export const RESERVED_SITE_NAMES: ReadonlySet<string> = new Set([
  "admin",
  "api",
  "app",
  "assets",
  "auth",
  "cdn",
  "dashboard",
  "default",
  "docs",
  "ftp",
  "help",
  "internal",
  "localhost",
  "login",
  "mail",
  "new",
  "pagoda",
  "root",
  "signin",
  "signup",
  "smtp",
  "static",
  "status",
  "support",
  "system",
  "www",
]);

/** The dashboard's own additions, in words, or null. */
export function dashboardSiteNameProblem(name: string): string | null {
  if (name.includes("--")) return "Site names cannot contain two dashes in a row.";
  if (RESERVED_SITE_NAMES.has(name)) return "This name is reserved. Choose another.";
  return null;
}
