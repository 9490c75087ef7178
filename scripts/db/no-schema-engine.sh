#!/bin/sh
# Stand-in for Prisma's native schema engine where it could not be downloaded.
# `prisma generate` only checks that the file exists; anything that really runs
# it needs the engine, and this says where to go instead.
echo "The Prisma schema-engine binary is not installed on this machine." >&2
echo "Apply migrations with 'npm run db:migrate' (WebAssembly engine) instead." >&2
exit 1
