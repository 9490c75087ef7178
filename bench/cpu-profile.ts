/**
 * A V8 CPU profile of another Node process, taken over its inspector port
 * (the process runs with `--inspect=127.0.0.1:<port>`) around a piece of
 * work, and a summary of where its CPU time went: by package or bundle, and
 * the functions with the most self time. Loopback only.
 */
import { writeFile } from "node:fs/promises";

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
function session(ws: WebSocket): (method: string, params?: object) => Promise<Record<string, unknown>> {
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
  /** Functions with the most self time, in ms. */
  top: [string, number][];
}

export function summarise(profile: CpuProfile, topN = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
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
    const where = frame.url ? ` ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : "";
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const ms = (entries: Map<string, number>, n: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => [k, us / 1000] as [string, number]);
  return { activeMs: activeUs / 1000, idleMs: idleUs / 1000, groups: ms(groups, 15), top: ms(functions, topN) };
}

export async function saveProfile(profile: CpuProfile, file: string): Promise<void> {
  await writeFile(file, JSON.stringify(profile));
}
