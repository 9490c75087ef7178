#!/usr/bin/env node
// The CLI is written in TypeScript and shares the upload refusals' wording with the dashboard
// (lib/uploads), so it runs from its sources: `npx pagoda` works straight after `npm ci`, with no
// build step to forget. The sources are bundled once into a cache beside the installed packages
// (esbuild, the compiler tsx uses) and bundled again whenever one of them changes; loading the
// bundle needs about half the memory of compiling every module at each start. Where the cache
// cannot be written, the sources are compiled in memory with tsx instead.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";

// A deploy streams its zip: nearly everything it allocates is garbage within one file, yet V8 keeps
// doubling its young generation up to 16 MiB semi-spaces (about 60 MB of heap at 10,000 files) as
// if a larger one would pay off. Kept at its starting size, the heap stays near 30 MB at any size of
// site, for no measurable cost in time (docs/cli.md, "Benchmark"). The flag is read each time the
// young generation would grow, so setting it here, before anything is allocated, takes effect.
v8.setFlagsFromString("--semi-space-growth-factor=1");

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "src", "main.ts");
const cacheDir = join(root, "node_modules", ".cache", "pagoda-cli");
const bundle = join(cacheDir, "main.mjs");
const inputsFile = join(cacheDir, "inputs.json");

function stamp(file) {
  const info = statSync(file);
  return `${info.size}:${info.mtimeMs}`;
}

/** True when the bundle was made from exactly the sources on disk now. */
function bundleIsCurrent() {
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
    return Object.entries(inputs).every(([file, seen]) => stamp(file) === seen);
  } catch {
    return false;
  }
}

async function build() {
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      packages: "external",
      metafile: true,
      write: false,
      logLevel: "silent",
      absWorkingDir: root,
    });
    const inputs = {};
    for (const input of Object.keys(result.metafile.inputs)) {
      const file = join(root, input);
      inputs[file] = stamp(file);
    }
    mkdirSync(cacheDir, { recursive: true });
    // Written under other names, then renamed: two commands starting at once never read half a bundle.
    const temp = `${bundle}.${process.pid}.tmp`;
    writeFileSync(temp, result.outputFiles[0].contents);
    renameSync(temp, bundle);
    writeFileSync(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(inputs));
    renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile);
  } finally {
    await esbuild.stop?.();
  }
}

async function load() {
  if (process.env.PAGODA_CLI_NO_BUNDLE !== "1") {
    try {
      if (!bundleIsCurrent()) await build();
      return await import(pathToFileURL(bundle).href);
    } catch {
      // Fall through to compiling in memory.
    }
  }
  const { register } = await import("tsx/esm/api");
  register();
  return import(pathToFileURL(entry).href);
}

const { main } = await load();
process.exitCode = await main(process.argv.slice(2));
