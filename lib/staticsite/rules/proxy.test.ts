import { describe, expect, it } from "vitest";
import { originHasIpHost, parseProxyOrigins } from "./proxy";

describe("parseProxyOrigins", () => {
  it("reads a comma-separated list in URL.origin form, once each", () => {
    expect(parseProxyOrigins(" https://API.example.com , http://10.0.0.5:8080,https://api.example.com:443,")).toEqual([
      "https://api.example.com",
      "http://10.0.0.5:8080",
    ]);
    expect(parseProxyOrigins("")).toEqual([]);
  });

  it.each([
    "api.example.com",
    "ftp://api.example.com",
    "https://api.example.com/",
    "https://api.example.com/v1",
    "https://api.example.com?x=1",
    "https://user@api.example.com",
    "https://user:pw@api.example.com",
    "https://api.example.com:99999",
    "https://api.example.com:0",
    "https://[::1]:8080",
    "https://api_example.com",
    "https://0x7f000001",
    "https://",
  ])("refuses %s, naming it", (entry) => {
    expect(() => parseProxyOrigins(`https://ok.example.com,${entry}`)).toThrow(`${JSON.stringify(entry)} is not an origin`);
  });

  it("tells an IP origin, which needs no resolver, from a named one", () => {
    expect(originHasIpHost("http://10.0.0.5:8080")).toBe(true);
    expect(originHasIpHost("https://api.example.com")).toBe(false);
    expect(originHasIpHost("https://10.0.0.5.example.com")).toBe(false);
  });
});
