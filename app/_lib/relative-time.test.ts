import { describe, expect, it } from "vitest";
import { formatExact, formatRelative, formatUtc } from "./relative-time";

const now = new Date("2026-12-01T15:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

describe("formatRelative", () => {
  it.each([
    [0, "now"],
    [59, "now"],
    [60, "1 minute ago"],
    [3 * 60 + 40, "3 minutes ago"],
    [59 * 60 + 59, "59 minutes ago"],
    [2 * 3600 + 59 * 60, "2 hours ago"],
    [24 * 3600, "yesterday"],
    [3 * 24 * 3600, "3 days ago"],
    [8 * 24 * 3600, "last week"],
    [45 * 24 * 3600, "last month"],
    [400 * 24 * 3600, "last year"],
  ])("%i s ago is %s", (seconds, text) => {
    expect(formatRelative(ago(seconds), now, "en")).toBe(text);
  });

  it("a time a little ahead of the viewer's clock is now, and further ahead is in the future", () => {
    expect(formatRelative(ago(-20), now, "en")).toBe("now");
    expect(formatRelative(ago(-5 * 60), now, "en")).toBe("in 5 minutes");
  });

  it("speaks the viewer's language", () => {
    expect(formatRelative(ago(3 * 60), now, "de")).toBe("vor 3 Minuten");
    expect(formatRelative(ago(3 * 60), now, "fr")).toBe("il y a 3 minutes");
  });
});

describe("formatExact", () => {
  it("is the local time in the viewer's time zone, zone named", () => {
    const text = formatExact(new Date("2026-12-01T15:04:05Z"), "en-GB", "Europe/Paris");
    expect(text).toContain("16:04:05");
    expect(text).toContain("1 Dec 2026");
    expect(text).toMatch(/CET|GMT\+1/);
    expect(formatExact(new Date("2026-12-01T15:04:05Z"), "en-US", "America/New_York")).toContain("10:04:05");
  });
});

describe("formatUtc", () => {
  it("does not depend on where it runs", () => {
    expect(formatUtc(new Date("2026-12-01T15:04:05.123Z"))).toBe("2026-12-01 15:04 UTC");
  });
});
