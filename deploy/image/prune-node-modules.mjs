// Used by the Dockerfile: removes from node_modules every package that neither
// a production dependency nor one of the named extra packages needs, reading
// the dependency graph from package-lock.json (lockfile v2/v3). It runs on a
// tree installed from the lock file, so what stays is exactly what was locked.
//
//   node prune-node-modules.mjs [--drop <package>]... [<extra package>]...
//
// Extras: packages listed under devDependencies that the image still runs
// (tsx for the operator and the migration runner, the schema engine).
// --drop: packages to remove even though something depends on them (optional
// native builds the standalone server never loads), with everything that only
// they needed.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const extras = [];
const drops = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--drop") drops.push(args[++i]);
  else extras.push(args[i]);
}

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const packages = lock.packages;
if (!packages || !packages[""]) {
  console.error("package-lock.json has no 'packages' map (lockfile v2 or later is required)");
  process.exit(1);
}

const nameOf = (location) => location.slice(location.lastIndexOf("node_modules/") + "node_modules/".length);
const dropped = (location) => drops.some((d) => (d.endsWith("*") ? nameOf(location).startsWith(d.slice(0, -1)) : nameOf(location) === d));

// Node's resolution: <dir>/node_modules/<name>, then the same from each
// enclosing package up to the root.
function resolve(from, name) {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut === -1 ? "" : dir.slice(0, cut);
  }
}

const keep = new Set();
const queue = [];
const want = (from, name, optional) => {
  const location = resolve(from, name);
  if (!location) {
    if (optional) return;
    console.error(`cannot resolve ${name} from ${from || "the project"} in package-lock.json`);
    process.exit(1);
  }
  if (dropped(location) || keep.has(location)) return;
  keep.add(location);
  queue.push(location);
};

const root = packages[""];
for (const name of Object.keys({ ...root.dependencies, ...root.optionalDependencies })) want("", name, false);
for (const name of extras) want("", name, false);
while (queue.length > 0) {
  const location = queue.shift();
  const pkg = packages[location];
  for (const name of Object.keys(pkg.dependencies ?? {})) want(location, name, false);
  // Optional dependencies are often other platforms' builds: absent is fine.
  for (const name of Object.keys(pkg.optionalDependencies ?? {})) want(location, name, true);
  // Required peers are part of the package's contract; optional peers are
  // integrations the application would have to ask for itself.
  for (const name of Object.keys(pkg.peerDependencies ?? {})) {
    if (!pkg.peerDependenciesMeta?.[name]?.optional) want(location, name, true);
  }
}

let removed = 0;
for (const location of Object.keys(packages)) {
  if (!location.startsWith("node_modules/") || keep.has(location)) continue;
  if (existsSync(location)) {
    rmSync(location, { recursive: true, force: true });
    removed++;
  }
}

// Links in .bin folders that now point at nothing.
function pruneBinLinks(dir) {
  const bin = path.join(dir, ".bin");
  if (existsSync(bin)) {
    for (const entry of readdirSync(bin)) {
      const link = path.join(bin, entry);
      if (lstatSync(link).isSymbolicLink() && !existsSync(path.resolve(bin, readlinkSync(link)))) rmSync(link);
    }
  }
}
pruneBinLinks("node_modules");
for (const location of keep) if (existsSync(`${location}/node_modules`)) pruneBinLinks(`${location}/node_modules`);

// Scope folders left empty.
for (const entry of readdirSync("node_modules")) {
  const dir = path.join("node_modules", entry);
  if (entry.startsWith("@") && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

console.log(`kept ${keep.size} packages, removed ${removed}`);
