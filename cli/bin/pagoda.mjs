#!/usr/bin/env node
// The CLI is written in TypeScript and shares the upload refusals' wording with the
// dashboard (lib/uploads), so it runs its sources through tsx rather than a build step:
// `npx pagoda` works straight after `npm ci`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
