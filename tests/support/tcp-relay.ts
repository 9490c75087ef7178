// A TCP relay for tests that need to see or stop the bytes between a client
// and a real server: it counts connections and can freeze, as a hung
// connection does.
import net from "node:net";

/** Relays TCP to `target`; while frozen, nothing passes in either direction and new connections wait. */
export async function freezableRelay(target: { host: string; port: number }) {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  let bytesWhileFrozen = 0;
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    const relay = (from: net.Socket, to: net.Socket) =>
      from.on("data", (chunk: Buffer) => {
        if (frozen) {
          bytesWhileFrozen += chunk.length;
          return;
        }
        to.write(chunk);
      });
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => (frozen = true),
    thaw: () => {
      frozen = false;
      // What was swallowed while frozen is lost: those connections are dead.
      for (const s of sockets) s.destroy();
    },
    bytesWhileFrozen: () => bytesWhileFrozen,
    /** Client connections accepted so far. */
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
