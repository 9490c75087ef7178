# syntax=docker/dockerfile:1
#
# One image for both halves of Pagoda:
#   docker run IMAGE              dashboard: migrations, then the Next.js server on :3000
#   docker run IMAGE operator     the StaticSite controller (/healthz, /readyz, /metrics on :8081)
#   docker run IMAGE migrate      migrations only
# See docs/operating.md ("Images").

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: every dependency, exactly as locked (the build needs the dev tools)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install scripts in the tree download Prisma's
# native engines, which nothing here runs (migrations use the WebAssembly
# engine, client generation a stand-in; see docs/database.md), and esbuild's
# check of a binary its optional platform package already provides.
# `npm install --no-save` rather than `npm ci`: npm 11 leaves other
# platforms' optional native packages out of the lock file and `npm ci` then
# refuses it; this still installs exactly the locked versions.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-save --ignore-scripts --no-audit --no-fund

# ---- build: Prisma client, the standalone Next.js server, the operator bundle
FROM deps AS build
ENV NEXT_TELEMETRY_DISABLED=1
COPY . .
# The standalone folder carries a traced copy of node_modules; it is dropped
# because the runtime stage brings the pruned production tree instead (the
# migration runner needs more than the server's trace). The operator is one
# self-contained JavaScript file (scripts/operator-build.ts).
RUN npm run db:generate \
 && NEXT_OUTPUT=standalone npm run build \
 && rm -rf .next/standalone/node_modules \
 && npm run build:operator

# ---- runtime-deps: production dependencies + what runs TypeScript at run time
FROM deps AS runtime-deps
COPY deploy/image/prune-node-modules.mjs /tmp/
# tsx, the schema engine and the adapter utilities are the migration
# runner's (the operator's bundle carries its own dependencies). The Next.js compiler (swc) is a
# build tool the standalone server never loads.
RUN node /tmp/prune-node-modules.mjs \
      tsx @prisma/schema-engine-wasm @prisma/driver-adapter-utils \
      --drop '@next/swc-*'

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# NODE_OPTIONS: the dashboard's V8 options (lib/node-options.ts says why).
# HOSTNAME: Next's standalone server binds to it, and container runtimes set
# it to the container's name, which would leave the server unreachable on
# other addresses.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=16" \
    NEXT_TELEMETRY_DISABLED=1 \
    PORT=3000 \
    HOSTNAME=0.0.0.0 \
    PAGODA_DATA_DIR=/var/lib/pagoda \
    PAGODA_ARTIFACT_ROOT=/var/lib/pagoda/artifacts

# The only writable places (everything else may be mounted read-only): the
# data directory, whose ownership a fresh Docker volume takes over, and Next's
# cache.
RUN groupadd --system --gid 10001 pagoda \
 && useradd --system --uid 10001 --gid pagoda --home-dir /app --no-create-home --shell /usr/sbin/nologin pagoda \
 && mkdir -p /var/lib/pagoda/artifacts /app/.next/cache \
 && chown -R pagoda:pagoda /var/lib/pagoda /app/.next/cache

COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/.next/standalone ./
COPY --from=build /app/.next/static ./.next/static
# What the migration runner loads through tsx, and the tsconfig.json that
# maps its "@/..." imports; the operator's bundle.
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/lib ./lib
COPY --from=build /app/scripts/db ./scripts/db
COPY --from=build /app/build/operator/main.cjs ./build/operator/main.cjs
COPY --from=build /app/prisma ./prisma
COPY --chmod=0755 deploy/image/entrypoint.sh /usr/local/bin/pagoda-entrypoint
COPY deploy/image/healthcheck.mjs /usr/local/lib/pagoda/healthcheck.mjs

USER 10001:10001
EXPOSE 3000 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "/usr/local/lib/pagoda/healthcheck.mjs"]
ENTRYPOINT ["pagoda-entrypoint"]
CMD ["dashboard"]
