// Where a domain's records live. Pure, so the page, the API and the check agree.

/** The TXT record that proves ownership: `_pagoda-challenge.<name>`; for `*.example.com`, `_pagoda-challenge.example.com`. */
export function challengeName(name: string): string {
  return `_pagoda-challenge.${name.startsWith("*.") ? name.slice(2) : name}`;
}

/**
 * The name whose CNAME or A/AAAA records must point at the ingress: the
 * domain itself, or for a wildcard one name it covers (any would do).
 */
export function pointingName(name: string): string {
  return name.startsWith("*.") ? `pagoda-wildcard-check.${name.slice(2)}` : name;
}
