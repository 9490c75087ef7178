import yauzl from "yauzl";
import { UploadError } from "./errors";
import { quoteName } from "./format";

export interface ParsedPath {
  /** NFC-normalised segments, never empty strings, "." or "..". */
  segments: string[];
  /** The name ended in "/": a folder entry. */
  endsWithSlash: boolean;
}

const UTF8_FLAG = 0x800;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The zip says the name is UTF-8 but the bytes are not: refuse instead of guessing. */
export function assertNameEncoding(flags: number, raw: Buffer, decoded: string): void {
  if ((flags & UTF8_FLAG) === 0) return;
  try {
    strictUtf8.decode(raw);
  } catch {
    throw new UploadError(
      "bad_name",
      `The file name ${quoteName(decoded)} is marked as UTF-8 but is not valid UTF-8. Re-create the zip with a current zip tool.`,
      {
        entry: decoded,
      },
    );
  }
}

// C0 controls, DEL and C1 controls: never part of a real file name, and
// they make logs, terminals and messages lie about what a name is.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * Turns an entry name into safe path segments or refuses it with the
 * specific reason. Checks run in the order that gives the most useful
 * message when a name has several problems.
 */
export function parseEntryPath(name: string): ParsedPath {
  const fail = (code: ConstructorParameters<typeof UploadError>[0], message: string): never => {
    throw new UploadError(code, message, { entry: name });
  };
  if (name.length === 0) fail("bad_name", "The zip contains an entry with an empty name.");
  const control = CONTROL.exec(name);
  if (control) {
    const cp = control[0].codePointAt(0) ?? 0;
    fail("bad_name", `The file name ${quoteName(name)} contains a control character (U+${cp.toString(16).toUpperCase().padStart(4, "0")}). Rename the file.`);
  }
  if (name.includes("\\")) {
    fail(
      "backslash",
      `The name ${quoteName(name)} contains a backslash (\\). Zip files must use "/" between folders; re-create the zip with a standard zip tool, and rename any file whose name contains "\\".`,
    );
  }
  if (name.startsWith("/")) {
    fail("absolute_path", `The entry ${quoteName(name)} has an absolute path (it starts with "/"). Zip the site's folder so that paths are relative to it.`);
  }
  if (/^[A-Za-z]:/.test(name)) {
    fail("absolute_path", `The entry ${quoteName(name)} starts with a drive letter. Zip the site's folder so that paths are relative to it.`);
  }
  const endsWithSlash = name.endsWith("/");
  const parts = (endsWithSlash ? name.slice(0, -1) : name).split("/");
  const segments: string[] = [];
  for (const part of parts) {
    if (part === "..") {
      fail("path_traversal", `The entry ${quoteName(name)} uses ".." to point outside the site folder, which is not allowed.`);
    }
    // "./index.html" is how some tools write relative names; it means the same file.
    if (part === ".") continue;
    if (part === "") fail("bad_name", `The entry ${quoteName(name)} contains an empty folder name ("//").`);
    segments.push(part.normalize("NFC"));
  }
  // Backstop: our checks above are meant to be a superset of yauzl's.
  const yauzlVerdict = yauzl.validateFileName(name);
  if (yauzlVerdict !== null) fail("bad_name", `The entry name ${quoteName(name)} is not allowed (${yauzlVerdict}).`);
  return { segments, endsWithSlash };
}

/** Key under which two names collide on a case-insensitive file system. */
export function collisionKey(path: string): string {
  return path.normalize("NFC").toLowerCase();
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
