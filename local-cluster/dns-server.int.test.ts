// The DNS harness: a real Knot DNS server on loopback, asked through node:dns
// the way domain verification asks its configured resolver.
import { Resolver } from "node:dns/promises";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDnsServer, type DnsServer } from "./dns-server";

let dns: DnsServer;
let resolver: Resolver;

beforeAll(async () => {
  dns = await startDnsServer({ zones: ["customer.test", "example.test"] });
  resolver = new Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers([dns.address]);
});

afterAll(async () => {
  await dns?.stop();
});

function code(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code,
  );
}

describe("startDnsServer", () => {
  it("listens on a loopback port", () => {
    expect(dns.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(dns.zones).toEqual(["customer.test", "example.test"]);
  });

  it("answers an A record as soon as setRecords resolves, and the new set after a replace", async () => {
    await dns.setRecords("www.customer.test", "A", ["127.0.0.1"]);
    expect(await resolver.resolve4("www.customer.test")).toEqual(["127.0.0.1"]);
    await dns.setRecords("WWW.customer.test.", "A", ["10.1.0.1", "10.1.0.2"]);
    expect((await resolver.resolve4("www.customer.test")).sort()).toEqual(["10.1.0.1", "10.1.0.2"]);
  });

  it("serves TXT texts exactly, quotes and backslashes included", async () => {
    const texts = ['pagoda-verify=abc"def', "back\\slash and spaces"];
    await dns.setRecords("_pagoda-challenge.www.customer.test", "TXT", texts);
    const answer = (await resolver.resolveTxt("_pagoda-challenge.www.customer.test")).map((chunks) => chunks.join(""));
    expect(answer.sort()).toEqual([...texts].sort());
  });

  it("serves CNAMEs, in a second zone too", async () => {
    await dns.setRecords("shop.example.test", "CNAME", ["ingress.pagoda.test."]);
    expect(await resolver.resolveCname("shop.example.test")).toEqual(["ingress.pagoda.test"]);
  });

  it("removeRecords takes a record away, and removing what is not there is fine", async () => {
    await dns.setRecords("gone.customer.test", "TXT", ["token"]);
    expect(await resolver.resolveTxt("gone.customer.test")).toEqual([["token"]]);
    await dns.removeRecords("gone.customer.test", "TXT");
    expect(await code(resolver.resolveTxt("gone.customer.test"))).toBe("ENOTFOUND");
    await dns.removeRecords("never.customer.test", "A");
    expect(await code(resolver.resolve4("never.customer.test"))).toBe("ENOTFOUND");
  });

  it("refuses names outside its zones, bad names and bad data, and changes nothing", async () => {
    await expect(dns.setRecords("www.elsewhere.test", "A", ["127.0.0.1"])).rejects.toThrow(/none of the served zones/);
    await expect(dns.setRecords("bad name.customer.test", "A", ["127.0.0.1"])).rejects.toThrow(/not a DNS name/);
    await expect(dns.setRecords("customer.test", "SOA", ["x"])).rejects.toThrow(/record type not allowed/);
    await expect(dns.setRecords("line.customer.test", "TXT", ["a\nb"])).rejects.toThrow(/line breaks/);
    // Knot rejects the second value inside the transaction: the first is not kept either.
    await expect(dns.setRecords("half.customer.test", "A", ["127.0.0.1", "not-an-address"])).rejects.toThrow(/knotc/);
    expect(await code(resolver.resolve4("half.customer.test"))).toBe("ENOTFOUND");
    expect(await code(resolver.resolve4("line.customer.test"))).toBe("ENOTFOUND");
    // And the server still takes changes after a refused one.
    await dns.setRecords("after.customer.test", "A", ["127.0.0.2"]);
    expect(await resolver.resolve4("after.customer.test")).toEqual(["127.0.0.2"]);
  });

  it("stop() ends the server and removes its files", async () => {
    const other = await startDnsServer({ zones: ["stop.test"] });
    const r = new Resolver({ timeout: 300, tries: 1 });
    r.setServers([other.address]);
    await other.setRecords("a.stop.test", "A", ["127.0.0.3"]);
    expect(await r.resolve4("a.stop.test")).toEqual(["127.0.0.3"]);
    await other.stop();
    expect(await code(r.resolve4("a.stop.test"))).toMatch(/ETIMEOUT|ECONNREFUSED/);
    expect(existsSync(other.dir)).toBe(false);
  });
});
