import { describe, expect, it } from "vitest";
import { deployFailedMessage } from "@/lib/deploys/failure-notice-message";

const facts = {
  site: "blog",
  workspace: "Acme",
  reason: "Back-off pulling image",
  url: "https://pagoda.example/w/acme/sites/blog",
  deployedAt: new Date("2026-12-01T20:15:42.000Z"),
  via: "in the dashboard",
};

describe("deployFailedMessage", () => {
  it("says which site failed, why, when and where to look, in both parts", () => {
    const message = deployFailedMessage({ name: "Ada", address: "ada@example.com" }, facts);
    expect(message.subject).toBe("Deploy of blog failed");
    expect(message.to).toEqual({ name: "Ada", address: "ada@example.com" });
    for (const part of [message.text, message.html]) {
      expect(part).toContain("blog");
      expect(part).toContain("Acme");
      expect(part).toContain("Back-off pulling image");
      expect(part).toContain("https://pagoda.example/w/acme/sites/blog");
      expect(part).toContain("2026-12-01 20:15 UTC");
    }
  });

  it("keeps a hostile name out of the headers and a hostile reason inert", () => {
    const message = deployFailedMessage(
      { name: "Eve\r\nBcc: all@example.com", address: "eve@example.com" },
      { ...facts, reason: 'line one\nline two\u0000\u001b[31m <img src=x onerror="alert(1)">' },
    );
    expect(message.to.name).toBe("Eve Bcc: all@example.com");
    expect(message.text).toContain("line one\nline two  [31m <img");
    expect(message.html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(message.html).not.toContain("<img");
    expect(() => deployFailedMessage({ name: "x", address: "a@b.c\r\nBcc: d@e.f" }, facts)).toThrow();
  });

  it("bounds a very long reason", () => {
    const message = deployFailedMessage({ name: "Ada", address: "ada@example.com" }, { ...facts, reason: "x".repeat(5_000) });
    expect(message.text).not.toContain("x".repeat(1_001));
    expect(message.text).toContain("x".repeat(1_000));
  });
});
