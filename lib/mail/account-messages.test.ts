import { describe, expect, it } from "vitest";
import { emailChangedNotice, emailChangeMessage } from "@/lib/mail/messages";

describe("email-change messages", () => {
  it("send the link to the new address and name the account it moves, in both parts", () => {
    const message = emailChangeMessage({ name: "Ada", address: "new@example.com" }, "old@example.com", "https://dash.example/account/email?token=abc", 60);
    expect(message.to).toEqual({ name: "Ada", address: "new@example.com" });
    for (const part of [message.text, message.html]) {
      expect(part).toContain("old@example.com");
      expect(part).toContain("https://dash.example/account/email?token=abc");
      expect(part).toContain("60 minutes");
    }
  });

  it("tell the old address where the account went", () => {
    const notice = emailChangedNotice({ name: "Ada", address: "old@example.com" }, "new@example.com", "https://dash.example/signin");
    expect(notice.to.address).toBe("old@example.com");
    expect(notice.subject).toBe("The email address of your Pagoda account was changed");
    expect(notice.text).toContain("now uses new@example.com");
  });

  it("refuse addresses that could add a header or a recipient, wherever they appear", () => {
    const hostile = ["new@example.com\r\nBcc: victim@example.com", "new@example.com>, victim@example.com", '"a b"@example.com'];
    for (const address of hostile) {
      expect(() => emailChangeMessage({ name: "Ada", address }, "old@example.com", "https://dash.example/x", 60)).toThrow("malformed address");
      expect(() => emailChangeMessage({ name: "Ada", address: "new@example.com" }, address, "https://dash.example/x", 60)).toThrow("malformed address");
      expect(() => emailChangedNotice({ name: "Ada", address: "old@example.com" }, address, "https://dash.example/x")).toThrow("malformed address");
    }
  });

  it("clean a name before it reaches the To header", () => {
    const message = emailChangeMessage({ name: "Eve\r\nBcc: victim@example.com", address: "new@example.com" }, "old@example.com", "https://dash.example/x", 60);
    expect(message.to.name).toBe("Eve Bcc: victim@example.com");
  });
});
