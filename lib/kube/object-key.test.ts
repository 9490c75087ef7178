import { describe, expect, it } from "vitest";
import { keyOf, keyString, parseKeyString } from "./object-key";

describe("object keys", () => {
  it("names an object by namespace and name, and round-trips through its string form", () => {
    const key = keyOf({ metadata: { namespace: "pagoda-acme", name: "www" } });
    expect(key).toEqual({ namespace: "pagoda-acme", name: "www" });
    expect(keyString(key)).toBe("pagoda-acme/www");
    expect(parseKeyString(keyString(key))).toEqual(key);
  });

  it("gives a cluster-scoped object its bare name", () => {
    expect(keyString(keyOf({ metadata: { name: "pagoda-acme" } }))).toBe("pagoda-acme");
  });

  it.each(["www", "/www", "pagoda-acme/", ""])("refuses %j as a namespaced key", (bad) => {
    expect(() => parseKeyString(bad)).toThrow(/malformed object key/);
  });
});
