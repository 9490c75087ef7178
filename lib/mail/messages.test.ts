import { describe, expect, it } from "vitest";
import { passwordResetMessage, safeAddress, safeDisplayName, verificationMessage } from "@/lib/mail/messages";

const url = "http://localhost:3000/reset-password?token=abc";

describe("outgoing messages", () => {
  it("have a plain-text and an HTML part, both carrying the link", () => {
    const message = passwordResetMessage({ name: "Ada", address: "ada@example.com" }, url, 30);
    expect(message.subject).toBe("Reset your Pagoda password");
    expect(message.text).toContain(`Choose a new password: ${url}`);
    expect(message.text).toContain("30 minutes");
    expect(message.html).toContain(`href="${url}"`);
    expect(verificationMessage({ name: "Ada", address: "ada@example.com" }, url, 24).text).toContain("24 hours");
  });

  it("turn control characters in a name into spaces, so a name cannot start a header", () => {
    expect(safeDisplayName("Eve\r\nBcc: victim@example.com")).toBe("Eve Bcc: victim@example.com");
    expect(safeDisplayName("a\u0000b\tc\u007fd")).toBe("a b c d");
    const message = verificationMessage({ name: "Eve\r\nBcc: victim@example.com", address: "eve@example.com" }, url, 24);
    expect(message.to).toEqual({ name: "Eve Bcc: victim@example.com", address: "eve@example.com" });
    expect(message.text).not.toMatch(/\r/);
  });

  it("escape a name in the HTML part", () => {
    const message = passwordResetMessage({ name: '<img src=x onerror="alert(1)">', address: "x@example.com" }, url, 30);
    expect(message.html).not.toContain("<img");
    expect(message.html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it.each(["a@b.c\r\nBcc: d@e.f", "a@b.c, d@e.f", "Name <a@b.c>", "no-at-sign", "a@b.c;d@e.f"])("refuse the address %j", (address) => {
    expect(() => safeAddress(address)).toThrow(/malformed address/);
  });
});
