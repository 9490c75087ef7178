/**
 * The storage boundary for text that came from outside: zip entry names,
 * emails, client addresses, messages from the cluster. Postgres cannot hold
 * U+0000 in text or jsonb at all (22021 / 22P05) and refuses a lone
 * surrogate in jsonb, so one such character used to fail the whole write and
 * hide the real answer. Characters that make a stored value lie when it is
 * read back (terminal escapes, line breaks that forge log lines, bidi
 * overrides that reorder text) are replaced too.
 */

/** Longest Deploy.error kept: the cluster's reason for a failed rollout. */
export const DEPLOY_ERROR_MAX = 2000;
/** Longest string kept inside a JSON value (details of an audit event). */
export const JSON_STRING_MAX = 2000;
/** Keys and items kept per JSON object or array, and how deep it may nest. */
const JSON_ITEMS_MAX = 64;
const JSON_DEPTH_MAX = 8;

const TRUNCATED = "…";

// C0 controls and DEL become their visible Control Pictures (␀ ␊ ␡), so the
// record still shows what was sent; C1 controls, bidi embeddings, overrides
// and isolates, and unpaired surrogates (matched only when unpaired, thanks
// to the u flag) become U+FFFD.
const UNSTORABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu;

function replacement(char: string): string {
  const code = char.charCodeAt(0);
  if (code <= 0x1f) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return "\u2421";
  return "\ufffd";
}

/**
 * `value` made safe to store in a column of at most `maxChars` characters
 * (Postgres counts code points): hostile characters replaced as above, then
 * cut at a code-point boundary with a trailing "…" when too long.
 */
export function storableText(value: string, maxChars: number): string {
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
  const clean = value.replace(UNSTORABLE, replacement);
  // Code points, not UTF-16 units: an astral character is one character to
  // Postgres, and cutting between its two halves would make a lone surrogate.
  const points = Array.from(clean);
  if (points.length <= maxChars) return clean;
  return points.slice(0, maxChars - 1).join("") + TRUNCATED;
}

/** `storableText` for optional columns: null and undefined stay null. */
export function storableTextOrNull(value: string | null | undefined, maxChars: number): string | null {
  return value === null || value === undefined ? null : storableText(value, maxChars);
}

export type StorableJson = string | number | boolean | null | StorableJson[] | { [key: string]: StorableJson };

/**
 * A JSON value made safe for a jsonb column: every string (keys included)
 * through storableText, non-finite numbers as null, and bounded in breadth
 * and depth so one event cannot grow without limit. Values JSON cannot
 * represent (functions, symbols, undefined) are dropped, as JSON.stringify
 * would drop them.
 */
export function storableJson(value: unknown, depth = 0): StorableJson {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
      return storableText(value, JSON_STRING_MAX);
    case "number":
      return Number.isFinite(value) ? value : null;
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return null;
  }
  if (depth >= JSON_DEPTH_MAX) return TRUNCATED;
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === "function") return storableJson(withToJson.toJSON(), depth + 1);
  if (Array.isArray(value)) {
    const items = value.slice(0, JSON_ITEMS_MAX).map((item: unknown) => storableJson(item, depth + 1));
    if (value.length > JSON_ITEMS_MAX) items.push(TRUNCATED);
    return items;
  }
  const out: { [key: string]: StorableJson } = {};
  let kept = 0;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
    if (kept === JSON_ITEMS_MAX) {
      out[TRUNCATED] = true;
      break;
    }
    out[storableText(key, 200)] = storableJson(item, depth + 1);
    kept += 1;
  }
  return out;
}
