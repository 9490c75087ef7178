import net from "node:net";
import { describe, expect, it } from "vitest";
import { ephemeralPortsFrom, findFreePort } from "./free-port";

describe("findFreePort", () => {
  it("picks distinct, bindable ports below the range outgoing connections take theirs from", async () => {
    const low = ephemeralPortsFrom();
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await findFreePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect(port).toBeLessThan(low);
    // Free as promised: one of them binds.
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reads the start of the kernel's range, and falls back to Linux's default", () => {
    expect(ephemeralPortsFrom(() => "40000\t60999\n")).toBe(40000);
    expect(ephemeralPortsFrom(() => "nonsense")).toBe(32768);
    expect(
      ephemeralPortsFrom(() => {
        throw new Error("no /proc here");
      }),
    ).toBe(32768);
  });
});
