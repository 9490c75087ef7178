#!/bin/sh
# Entry point of the Pagoda image: one image, several roles.
#
#   dashboard (default)  apply database migrations, then run the Next.js server
#   operator             run the StaticSite controller
#   migrate              apply database migrations and exit
#   anything else        run as a command (e.g. "sh" for debugging)
#
# The long-running process replaces this shell (exec), so it receives
# SIGTERM from the container runtime directly and shuts down cleanly.
set -eu

# The migration runner is TypeScript, run through tsx's loader inside this
# node process (no extra child process to forward signals to); it reads
# tsconfig.json for the "@/..." import paths.
run_ts() {
  script=$1
  shift
  exec node --import tsx "$script" "$@"
}

role=dashboard
if [ $# -gt 0 ]; then
  role=$1
  shift
fi
case "$role" in
  dashboard)
    # Idempotent, and serialised by a Postgres advisory lock, so every
    # replica may run it at start; a failure stops the container before it
    # serves anything against a half-migrated schema.
    node --import tsx scripts/db/migrate.ts deploy
    exec node server.js "$@"
    ;;
  operator)
    # The bundle built by scripts/operator-build.ts, with the operator's V8
    # options (OPERATOR_NODE_OPTIONS in lib/node-options.ts says why); they
    # come after NODE_OPTIONS, which holds the dashboard's, and so win. Two
    # malloc arenas: OPERATOR_ENV in lib/node-options.ts says why.
    export MALLOC_ARENA_MAX=2
    exec node --optimize-for-size build/operator/main.cjs
    ;;
  migrate)
    run_ts scripts/db/migrate.ts deploy
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
