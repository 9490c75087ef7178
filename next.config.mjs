/**
 * Security headers of every response. Keys are lower-case so that the
 * proxy's per-request policy (proxy.ts) replaces the fallback one below
 * instead of being sent next to it.
 */
const securityHeaders = [
  // What pages do not get from the proxy (static files, and requests with a
  // body, which skip it) allows nothing: no script, no frame, no form.
  { key: "content-security-policy", value: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" },
  // For browsers that predate frame-ancestors.
  { key: "x-frame-options", value: "DENY" },
  { key: "x-content-type-options", value: "nosniff" },
  // Tenant sites linked from the dashboard learn nothing of its URLs.
  { key: "referrer-policy", value: "no-referrer" },
  {
    key: "permissions-policy",
    value:
      "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), " +
      "magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-get=(), serial=(), usb=(), " +
      "xr-spatial-tracking=(), browsing-topics=()",
  },
  // A window opened from a tenant site cannot script or navigate the dashboard's.
  { key: "cross-origin-opener-policy", value: "same-origin" },
  { key: "cross-origin-resource-policy", value: "same-origin" },
];

/** @type {import('next').NextConfig} */
const nextConfig = {
  // The container image runs the self-contained server; local runs use `next start`.
  output: process.env.NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  poweredByHeader: false,
  // Compression is the ingress's job (ingress-nginx's use-gzip, docs/operating.md):
  // in the dashboard every response, down to a 12-byte health check, got a gzip
  // stream of its own, about 1.8 ms of the event loop's time per request.
  compress: false,
  // Type checking is its own step of `npm test` (tsc over the whole project,
  // operator included); repeating it inside every build only costs time.
  typescript: { ignoreBuildErrors: true },
  // Native and server-only packages are loaded from node_modules at run time
  // instead of being bundled.
  serverExternalPackages: ["@node-rs/argon2", "pino", "@kubernetes/client-node", "pg", "yauzl"],
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
