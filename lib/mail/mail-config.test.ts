import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

const valid = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};

describe("mail configuration", () => {
  it("leaves mail off when PAGODA_SMTP_URL is unset, and takes smtp:// and smtps:// URLs", () => {
    expect(parseConfig(valid).PAGODA_SMTP_URL).toBeUndefined();
    expect(parseConfig({ ...valid, PAGODA_SMTP_URL: "smtps://user:pw@mail.example.com:465" }).PAGODA_SMTP_URL).toBe("smtps://user:pw@mail.example.com:465");
    expect(parseConfig({ ...valid, PAGODA_MAIL_FROM: "Pagoda <pagoda@example.com>" }).PAGODA_MAIL_FROM).toBe("Pagoda <pagoda@example.com>");
    expect(parseConfig(valid).PAGODA_PASSWORD_RESETS_PER_EMAIL).toBe(3);
  });

  it.each([
    [{ PAGODA_SMTP_URL: "http://mail.example.com" }, "PAGODA_SMTP_URL must be an smtp:// or smtps:// URL"],
    [{ PAGODA_SMTP_URL: "smtp://" }, "PAGODA_SMTP_URL must be an smtp:// or smtps:// URL"],
    [{ PAGODA_MAIL_FROM: "Pagoda <pagoda@example.com>\r\nBcc: x@y.z" }, "PAGODA_MAIL_FROM must be an address"],
    [{ PAGODA_MAIL_FROM: "not an address" }, "PAGODA_MAIL_FROM must be an address"],
    [{ PAGODA_PASSWORD_RESETS_PER_IP: "0" }, "PAGODA_PASSWORD_RESETS_PER_IP must be at least 1"],
  ])("refuses %j, naming the variable", (env, message) => {
    expect(() => parseConfig({ ...valid, ...env })).toThrow(ConfigError);
    expect(() => parseConfig({ ...valid, ...env })).toThrow(message);
  });
});
