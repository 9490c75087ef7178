import { describe, expect, it } from "vitest";
import { absoluteName, knotConfig, rdata, zoneOf } from "./dns-server";

describe("dns-server names and data", () => {
  it("writes names absolute and lower-case, refusing what is not a name", () => {
    expect(absoluteName("WWW.Customer.Test")).toBe("www.customer.test.");
    expect(absoluteName("_pagoda-challenge.www.customer.test.")).toBe("_pagoda-challenge.www.customer.test.");
    for (const bad of ["", ".", "a..b", "bad name.test", "-x.test", "x;rm.test", "a".repeat(64) + ".test"]) {
      expect(() => absoluteName(bad)).toThrow(/not a DNS name/);
    }
  });

  it("finds the longest zone a name belongs to", () => {
    const zones = ["test", "customer.test"];
    expect(zoneOf("www.customer.test", zones)).toBe("customer.test.");
    expect(zoneOf("customer.test", zones)).toBe("customer.test.");
    expect(zoneOf("other.test", zones)).toBe("test.");
    expect(zoneOf("xcustomer.test.org", zones)).toBeUndefined();
  });

  it("quotes TXT data and refuses line breaks and over-long strings", () => {
    expect(rdata("TXT", 'a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(rdata("A", "127.0.0.1")).toBe("127.0.0.1");
    expect(() => rdata("TXT", "a\nb")).toThrow(/line breaks/);
    expect(() => rdata("A", "1.2.3.4\r")).toThrow(/line breaks/);
    expect(() => rdata("TXT", "x".repeat(256))).toThrow(/255 bytes/);
  });

  it("listens on loopback only, with its control socket in its own directory", () => {
    const conf = knotConfig("/tmp/d", 5353, ["customer.test"]);
    expect(conf).toContain("listen: 127.0.0.1@5353");
    expect(conf).toContain('listen: "/tmp/d/run/knot.sock"');
    expect(conf).toContain("- domain: customer.test.");
  });
});
