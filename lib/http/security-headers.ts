import { randomBytes } from "node:crypto";

/**
 * The security headers that depend on the request or on the run-time
 * configuration, added by proxy.ts. The fixed ones (frame, sniffing,
 * referrer, permissions, opener) and the policy of every response the proxy
 * does not see are in next.config.mjs.
 */

/** 128 random bits per page view: a nonce an injected script cannot guess. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

/**
 * The policy of every dashboard page. Scripts run only when they carry this
 * response's nonce, which Next.js puts on its own scripts (it reads the
 * policy from the request header the proxy sets), or when such a script
 * loaded them ('strict-dynamic'). Nothing may frame the dashboard, so the
 * one-click promote and delete buttons cannot be clickjacked.
 */
export function pageSecurityPolicy(nonce: string, options: { https: boolean; dev: boolean }): string {
  const directives = [
    "default-src 'self'",
    // React's development build evaluates code for its error overlay; the production build never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.dev ? " 'unsafe-eval'" : ""}`,
    // `next dev` injects its styles from script without a nonce; the production build links files.
    options.dev ? "style-src 'self' 'unsafe-inline'" : `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(options.https ? ["upgrade-insecure-requests"] : []),
  ];
  return directives.join("; ");
}

/** Two years, the dashboard's own subdomains included; sent only when the dashboard's public URL is https. */
export const STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains";
