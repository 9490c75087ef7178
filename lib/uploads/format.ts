const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"] as const;

/** "100 MiB", "1.5 GiB", "512 bytes": limits in messages must read like a person wrote them. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.floor(bytes))} bytes`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = value >= 100 || Number.isInteger(value) ? Math.round(value).toString() : value.toFixed(1).replace(/\.0$/, "");
  return `${rounded} ${UNITS[unit]}`;
}

/** Quote an entry name for a message, making invisible characters visible. */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}
