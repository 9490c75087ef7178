/**
 * A V8 CPU profile of another Node process, taken over its inspector port
 * (the process runs with `--inspect=127.0.0.1:<port>`) around a piece of
 * work, and a summary of where its CPU time went: by package or bundle, by
 * source file of the built app (through the build's source maps), by the
 * app's own file nearest on the stack, and the functions with the most self
 * time. Also the process's event-loop delay and utilisation over a piece of
 * work, read through the same inspector. Loopback only.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
type Send = (method: string, params?: object) => Promise<Record<string, unknown>>;
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Waits for the inspector of a process that was just started, then connects to its first target. */
async function connect(inspectPort: number, timeoutMs = 10_000): Promise<WebSocket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const targets = await fetch(`http://127.0.0.1:${inspectPort}/json/list`).then(
      (r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>,
      () => [],
    );
    if (targets[0]) {
      const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(), { once: true });
        ws.addEventListener("error", () => reject(new Error(`could not connect to the inspector on port ${inspectPort}`)), { once: true });
      });
      return ws;
    }
    if (Date.now() > deadline) throw new Error(`no inspector answered on port ${inspectPort} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A minimal Chrome DevTools Protocol session: one request at a time is all a profile needs. */
function session(ws: WebSocket): Send {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result ?? {});
  });
  return (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
}

/** Profiles the process behind `inspectPort` while `work` runs, sampling every `intervalUs` µs. */
export async function profileDuring(inspectPort: number, work: () => Promise<void>, intervalUs = 250): Promise<CpuProfile> {
  const ws = await connect(inspectPort);
  try {
    const send = session(ws);
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: intervalUs });
    await send("Profiler.start");
    await work();
    const { profile } = (await send("Profiler.stop")) as { profile: CpuProfile };
    await send("Profiler.disable");
    return profile;
  } finally {
    ws.close();
  }
}

/** Event-loop figures of a process over a piece of work, in ms. */
export interface LoopFigures {
  /** Fraction of the time the loop was running code rather than waiting (performance.eventLoopUtilization). */
  utilisation: number;
  /** How late a 10 ms timer fired (perf_hooks.monitorEventLoopDelay): a block of the loop delays every request behind it. */
  delayP50: number;
  delayP90: number;
  delayP99: number;
  delayMax: number;
  delayMean: number;
  samples: number;
}

// Evaluated inside the measured process; node: modules come from process.getBuiltinModule (no require there).
const LOOP_START = `(() => {
  const { monitorEventLoopDelay, performance } = process.getBuiltinModule("node:perf_hooks");
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  globalThis.__benchLoop = { histogram, elu: performance.eventLoopUtilization() };
  return true;
})()`;
const LOOP_STOP = `(() => {
  const { performance } = process.getBuiltinModule("node:perf_hooks");
  const { histogram, elu } = globalThis.__benchLoop;
  delete globalThis.__benchLoop;
  histogram.disable();
  const ms = (ns) => ns / 1e6;
  return JSON.stringify({
    utilisation: performance.eventLoopUtilization(elu).utilization,
    delayP50: ms(histogram.percentile(50)), delayP90: ms(histogram.percentile(90)), delayP99: ms(histogram.percentile(99)),
    delayMax: ms(histogram.max), delayMean: ms(histogram.mean), samples: histogram.count,
  });
})()`;

/**
 * Measures the event loop of the process behind `inspectPort` while `work`
 * runs; with `profileIntervalUs`, also takes a CPU profile over the same
 * time (sampling costs the process a little; every 1,000 µs is cheap).
 */
export async function loopDuring(
  inspectPort: number,
  work: () => Promise<void>,
  profileIntervalUs?: number,
): Promise<{ loop: LoopFigures; profile?: CpuProfile }> {
  const ws = await connect(inspectPort);
  try {
    const send = session(ws);
    const evaluate = async (expression: string) => {
      const { result, exceptionDetails } = (await send("Runtime.evaluate", { expression, returnByValue: true })) as {
        result?: { value?: unknown };
        exceptionDetails?: { text?: string; exception?: { description?: string } };
      };
      if (exceptionDetails) throw new Error(`evaluating in the dashboard failed: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
      return result?.value;
    };
    if (profileIntervalUs) {
      await send("Profiler.enable");
      await send("Profiler.setSamplingInterval", { interval: profileIntervalUs });
      await send("Profiler.start");
    }
    await evaluate(LOOP_START);
    await work();
    const loop = JSON.parse(String(await evaluate(LOOP_STOP))) as LoopFigures;
    let profile: CpuProfile | undefined;
    if (profileIntervalUs) {
      profile = ((await send("Profiler.stop")) as { profile: CpuProfile }).profile;
      await send("Profiler.disable");
    }
    return { loop, profile };
  } finally {
    ws.close();
  }
}

/** Where a frame's code comes from: an npm package, the built app, Node itself, or V8's own bookkeeping. */
function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (pkg) {
    // Next.js ships React's server renderers inside its own runtime bundles: name them apart.
    if (pkg[1] === "next" && /compiled\/next-server\/app-page/.test(pkg[2]!)) return "next: app-page runtime (React server + SSR)";
    if (pkg[1] === "next" && /compiled\//.test(pkg[2]!)) return `next: compiled/${pkg[2]!.split("/")[1]}`;
    if (pkg[1] === "next") return `next: ${pkg[2]!.split("/").slice(0, 3).join("/")}`;
    return pkg[1]!;
  }
  const built = /\.next\/(server\/[^/]+)/.exec(url);
  if (built) return `app bundle (.next/${built[1]})`;
  return url.replace(/^file:\/\//, "");
}

export interface ProfileSummary {
  /** Sampled time not spent idle, in ms. */
  activeMs: number;
  idleMs: number;
  /** Self time by where the code comes from, largest first, in ms. */
  groups: [string, number][];
  /** Self time of the built app's code by its source file (the build's source maps), in ms. */
  sources: [string, number][];
  /**
   * Total time by the app's own file (lib/, app/, instrumentation) nearest to
   * the sample on its stack, in ms: who asked for the work, packages and
   * runtime below it included. Work resumed from a promise or a socket
   * starts a new stack, so "(no app frame on the stack)" holds the rest.
   */
  callers: [string, number][];
  /** Functions with the most self time, in ms. */
  top: [string, number][];
  /** The call stacks (innermost first) with the most self time, in ms. */
  stacks: [string[], number][];
}

const sourceMaps = new Map<string, SourceMap | null>();
/** The original file and line of a frame of the built app, from the `.map` next to its bundle; null outside the build. */
function originalPosition(frame: CallFrame): { source: string; line: number } | null {
  if (!frame.url.includes("/.next/")) return null;
  let map = sourceMaps.get(frame.url);
  if (map === undefined) {
    map = null;
    try {
      const file = frame.url.startsWith("file://") ? fileURLToPath(frame.url) : frame.url;
      if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      map = null;
    }
    sourceMaps.set(frame.url, map);
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  const source = entry && "originalSource" in entry ? entry.originalSource : undefined;
  if (!source) return null;
  const line = entry && "originalLine" in entry ? entry.originalLine + 1 : 0;
  // Bundled packages keep their node_modules path; the app's files are named from the project root.
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
  if (pkg) return { source: `package ${decodeURIComponent(pkg[1]!)}`, line };
  const file = decodeURIComponent(source)
    .replace(/^.*?\[project\]\//, "")
    .replace(/^(\.\.\/)+/, "")
    .replace(/^file:\/\/.*?\/(app|lib|instrumentation)/, "$1");
  return { source: file, line };
}
const originalSource = (frame: CallFrame) => originalPosition(frame)?.source ?? null;
const ownFile = (source: string | null) => (source && /^(app|lib)\/|^instrumentation/.test(source) ? source : null);

export function summarise(profile: CpuProfile, topN = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const sources = new Map<string, number>();
  const callers = new Map<string, number>();
  const callerOf = new Map<number, string>();
  const nearestOwn = (id: number): string => {
    const known = callerOf.get(id);
    if (known) return known;
    const own = ownFile(originalSource(byId.get(id)!.callFrame));
    const parent = parentOf.get(id);
    const caller = own ?? (parent === undefined ? "(no app frame on the stack)" : nearestOwn(parent));
    callerOf.set(id, caller);
    return caller;
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let idleUs = 0;
  let activeUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    activeUs += us;
    const group = groupOf(frame);
    groups.set(group, (groups.get(group) ?? 0) + us);
    const source = originalSource(frame);
    if (source) sources.set(source, (sources.get(source) ?? 0) + us);
    const caller = nearestOwn(id);
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    const original = originalPosition(frame);
    const where = original
      ? ` ${original.source}:${original.line}`
      : frame.url
        ? ` ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
        : "";
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const ms = (entries: Map<string, number>, n: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => [k, us / 1000] as [string, number]);
  const frameName = (frame: CallFrame) => {
    const original = originalPosition(frame);
    const where = original ? `${original.source}:${original.line}` : frame.url ? `${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}` : "";
    return `${frame.functionName || "(anonymous)"} ${where}`.trim();
  };
  const stackOf = (id: number): string[] => {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined && frames.length < 12; at = parentOf.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.functionName !== "(root)") frames.push(frameName(frame));
    }
    return frames;
  };
  const stacks = [...selfUs]
    .filter(([id]) => byId.get(id)!.callFrame.url)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([id, us]) => [stackOf(id), us / 1000] as [string[], number]);
  return {
    stacks,
    activeMs: activeUs / 1000,
    idleMs: idleUs / 1000,
    groups: ms(groups, 15),
    sources: ms(sources, 15),
    callers: ms(callers, 15),
    top: ms(functions, topN),
  };
}

export async function saveProfile(profile: CpuProfile, file: string): Promise<void> {
  await writeFile(file, JSON.stringify(profile));
}
