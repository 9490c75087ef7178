/**
 * One JavaScript file bundled by esbuild from an entry point and everything
 * it imports, node_modules included, run with plain `node`: the operator
 * (scripts/operator-build.ts) and the serving pool's agent
 * (scripts/pool-agent-build.ts). Whitespace is minified so the source V8
 * keeps is small and ASCII; names are kept so stack traces stay readable.
 * A bundle is rebuilt only when a file it was built from changed.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface NodeBundleSpec {
  /** What it is, for log lines: "the operator". */
  what: string;
  /** Entry point, relative to the repository root. */
  entry: string;
  /** Output file, relative to the repository root; its folder also holds the record of the build's inputs. */
  outfile: string;
  /** The script that builds it, relative to the repository root: a change to it changes the output too. */
  script: string;
}

export class NodeBundle {
  /** Absolute path of the bundle. */
  readonly path: string;
  private readonly inputsFile: string;
  /** Files that change the output without being inputs esbuild reports. */
  private readonly settings: string[];

  constructor(private readonly spec: NodeBundleSpec) {
    this.path = path.join(root, spec.outfile);
    this.inputsFile = path.join(path.dirname(this.path), "inputs.json");
    this.settings = ["package-lock.json", "tsconfig.json", "scripts/lib/node-bundle.ts", spec.script];
  }

  /** Why the bundle must be rebuilt, or null when it is current. */
  staleReason(): string | null {
    const builtAt = mtime(this.spec.outfile);
    if (builtAt === undefined) return "no build yet";
    let inputs: string[];
    try {
      inputs = JSON.parse(readFileSync(this.inputsFile, "utf8")) as string[];
    } catch {
      return "no record of the last build's inputs";
    }
    for (const file of [...this.settings, ...inputs]) {
      const changed = mtime(file);
      if (changed === undefined) return `${file} is gone`;
      if (changed > builtAt) return `${file} changed`;
    }
    return null;
  }

  async build(): Promise<void> {
    mkdirSync(path.dirname(this.path), { recursive: true });
    // Written beside the target and renamed: a process starting it meanwhile
    // (another test run) sees the old file or the new one, never half.
    const tmp = `${this.path}.${process.pid}.tmp`;
    const result = await build({
      absWorkingDir: root,
      entryPoints: [this.spec.entry],
      outfile: tmp,
      bundle: true,
      platform: "node",
      target: "node24",
      format: "cjs",
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: "none",
      charset: "ascii",
      metafile: true,
      logLevel: "warning",
    });
    renameSync(tmp, this.path);
    writeFileSync(this.inputsFile, `${JSON.stringify(Object.keys(result.metafile.inputs).sort(), null, 1)}\n`);
  }

  /** Builds the bundle if a source changed since the last build; returns its path. */
  async ensure(log: (message: string) => void = () => {}): Promise<string> {
    const reason = this.staleReason();
    if (reason) {
      log(`building ${this.spec.what} (${reason})`);
      await this.build();
    }
    return this.path;
  }

  /** `tsx <script> [--force]`: build when a source changed, or anyway. */
  async runAsScript(argv: string[]): Promise<void> {
    try {
      if (argv.includes("--force")) await this.build();
      else await this.ensure((m) => console.error(m));
      console.error(`${this.spec.what}: ${path.relative(process.cwd(), this.path)}`);
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  }
}

function mtime(file: string): number | undefined {
  try {
    return statSync(path.join(root, file)).mtimeMs;
  } catch {
    return undefined;
  }
}
