/** @type {import('next').NextConfig} */
const nextConfig = {
  output: "standalone",
  poweredByHeader: false,
  // Native and server-only packages are loaded from node_modules at run time
  // instead of being bundled.
  serverExternalPackages: ["@node-rs/argon2", "pino", "@kubernetes/client-node", "pg", "yauzl"],
  experimental: {
    serverActions: { bodySizeLimit: "1mb" },
  },
};

export default nextConfig;
