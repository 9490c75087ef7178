const UNITS: readonly { unit: Intl.RelativeTimeFormatUnit; seconds: number }[] = [
  { unit: "year", seconds: 365 * 24 * 3600 },
  { unit: "month", seconds: 30 * 24 * 3600 },
  { unit: "week", seconds: 7 * 24 * 3600 },
  { unit: "day", seconds: 24 * 3600 },
  { unit: "hour", seconds: 3600 },
  { unit: "minute", seconds: 60 },
];

/**
 * "3 minutes ago", "yesterday", "in 2 hours", in the viewer's language.
 * The largest unit that fits is used, counting whole units (2 h 59 min is
 * "2 hours ago"); under a minute is "now", which also absorbs a few seconds
 * of difference between the server's clock and the viewer's.
 */
export function formatRelative(then: Date, now: Date, locale?: string): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const elapsed = (now.getTime() - then.getTime()) / 1000;
  const magnitude = Math.abs(elapsed);
  for (const { unit, seconds } of UNITS) {
    if (magnitude >= seconds) {
      const count = Math.floor(magnitude / seconds);
      return format.format(elapsed >= 0 ? -count : count, unit);
    }
  }
  return format.format(0, "second");
}

/** The exact time in the viewer's time zone, zone named: shown on hover. */
export function formatExact(then: Date, locale?: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "long", ...(timeZone ? { timeZone } : {}) }).format(then);
}

/**
 * What the server renders before the viewer's clock and time zone are known,
 * the same on every server and client: an absolute time in UTC.
 */
export function formatUtc(then: Date): string {
  return `${then.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** How often shown relative times are brought up to date; the finest unit shown is a minute. */
export const RELATIVE_TIME_TICK_MS = 15_000;
