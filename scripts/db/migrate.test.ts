import { describe, expect, it } from "vitest";
import { migrationSlug, migrationTimestamp } from "./migrate";
import { poolConfigFromUrl } from "./schema-engine";

describe("poolConfigFromUrl", () => {
  it("takes every part of the URL apart, so a shadow database can replace only the name", () => {
    expect(poolConfigFromUrl("postgresql://app%40x:p%2Fss%3Aw@db.example:6543/pagoda%2Dprod")).toEqual({
      host: "db.example",
      port: 6543,
      user: "app@x",
      password: "p/ss:w",
      database: "pagoda-prod",
    });
  });

  it("fills Postgres defaults and understands socket hosts, IPv6 and sslmode", () => {
    expect(poolConfigFromUrl("postgres://pagoda@127.0.0.1/pagoda")).toMatchObject({ host: "127.0.0.1", port: 5432 });
    expect(poolConfigFromUrl("postgresql://u@localhost/db?host=/run/postgresql").host).toBe("/run/postgresql");
    expect(poolConfigFromUrl("postgresql://u@[::1]:5433/db")).toMatchObject({ host: "::1", port: 5433 });
    expect(poolConfigFromUrl("postgresql://u@h/db?sslmode=require").ssl).toEqual({ rejectUnauthorized: false });
    expect(poolConfigFromUrl("postgresql://u@h/db?sslmode=verify-full").ssl).toBe(true);
    expect(poolConfigFromUrl("postgresql://u@h/db").ssl).toBeUndefined();
  });

  it("rejects what is not a Postgres URL", () => {
    expect(() => poolConfigFromUrl("mysql://u@h/db")).toThrow(/postgresql:\/\//);
    expect(() => poolConfigFromUrl("not a url")).toThrow(/not a valid URL/);
  });
});

describe("migration names", () => {
  it("use Prisma's UTC timestamp prefix", () => {
    expect(migrationTimestamp(new Date("2026-01-02T03:04:05.678Z"))).toBe("20260102030405");
  });

  it("are lower-case words joined by underscores", () => {
    expect(migrationSlug("Add site-notes")).toBe("add_site_notes");
    expect(migrationSlug("  __init__ ")).toBe("init");
    expect(() => migrationSlug("--")).toThrow(/no letters or digits/);
  });
});
