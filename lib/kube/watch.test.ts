// KubeWatch against a real HTTP server: events split across chunks anywhere,
// a refused watch, and a watch stopped by its caller.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeWatch } from "./watch";

const event = (type: string, name: string) => JSON.stringify({ type, object: { metadata: { name, resourceVersion: "1" } } });

describe("KubeWatch", () => {
  let server: http.Server;
  let kc: KubeConfig;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/gone") {
        res.writeHead(410, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 410 }));
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      if (url.pathname === "/open") {
        res.write(`${event("ADDED", "a")}\n`);
        return;
      }
      // Two events and a last one without its newline, cut at awkward places.
      const text = `${event("ADDED", "a")}\n${event("MODIFIED", "b")}\n${event("DELETED", "c")}`;
      const cuts = [5, text.indexOf("\n") + 1, text.indexOf("\n") + 10, text.length - 3, text.length];
      let at = 0;
      const next = (): void => {
        const cut = cuts.shift();
        if (cut === undefined) {
          res.end();
          return;
        }
        res.write(text.slice(at, cut));
        at = cut;
        setImmediate(next);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    kc = new KubeConfig();
    // skipTLSVerify gives the kubeconfig TLS settings, so the watch goes through a dispatcher as against a real API server.
    kc.loadFromClusterAndUser({ name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }, { name: "nobody" });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const run = (path: string) => {
    const events: string[] = [];
    let ended!: (err: unknown) => void;
    const done = new Promise<unknown>((resolve) => (ended = resolve));
    const started = new KubeWatch(kc).watch(path, {}, (type, obj) => events.push(`${type} ${(obj as { metadata: { name: string } }).metadata.name}`), ended);
    return { events, done, started };
  };

  it("hands over every event, wherever the chunks cut it, and ends with null", async () => {
    const watch = run("/events");
    await watch.started;
    expect(await watch.done).toBeNull();
    expect(watch.events).toEqual(["ADDED a", "MODIFIED b", "DELETED c"]);
  });

  it("fails a refused watch with its HTTP status", async () => {
    const watch = run("/gone");
    await watch.started;
    expect(await watch.done).toMatchObject({ statusCode: 410, message: "Gone" });
    expect(watch.events).toEqual([]);
  });

  it("ends when its caller aborts it, after the events that arrived", async () => {
    const watch = run("/open");
    const controller = await watch.started;
    await expect.poll(() => watch.events).toEqual(["ADDED a"]);
    controller.abort();
    expect(await watch.done).toBeInstanceOf(Error);
  });
});
