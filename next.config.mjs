/** @type {import('next').NextConfig} */
const nextConfig = {
  // The container image runs the self-contained server; local runs use `next start`.
  output: process.env.NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  poweredByHeader: false,
  // Type checking is its own step of `npm test` (tsc over the whole project,
  // operator included); repeating it inside every build only costs time.
  typescript: { ignoreBuildErrors: true },
  // Native and server-only packages are loaded from node_modules at run time
  // instead of being bundled.
  serverExternalPackages: ["@node-rs/argon2", "pino", "@kubernetes/client-node", "pg", "yauzl"],
  experimental: {
    serverActions: { bodySizeLimit: "1mb" },
  },
};

export default nextConfig;
