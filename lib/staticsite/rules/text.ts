// Splitting a rules file into lines, with the checks both files share.
import { MAX_RULES_FILE_BYTES } from "./limits";

export interface RuleError {
  /** 1-based line number; 0 for what concerns the whole file. */
  line: number;
  /** Complete message, starting with "line N: " when it concerns a line. */
  message: string;
}

export interface Line {
  number: number;
  text: string;
  /** Set when the line cannot be read at all (too long, control characters); the parser reports it in order. */
  error?: RuleError;
}

export function lineError(line: number, message: string): RuleError {
  return { line, message: `line ${line}: ${message}` };
}

/** Control characters other than tab; CR is handled as part of a line break. */
const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f]/;

export function splitLines(text: string, file: string, maxLineLength: number, errors: RuleError[]): Line[] | undefined {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_RULES_FILE_BYTES) {
    errors.push({ line: 0, message: `${file} is ${bytes} bytes; at most ${MAX_RULES_FILE_BYTES} are allowed` });
    return undefined;
  }
  if (text.includes("\uFFFD")) {
    errors.push({ line: 0, message: `${file} is not valid UTF-8 text` });
    return undefined;
  }
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines: Line[] = [];
  body.split("\n").forEach((raw, index) => {
    const number = index + 1;
    const textLine = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (textLine.length > maxLineLength) {
      lines.push({ number, text: "", error: lineError(number, `the line is ${textLine.length} characters long; at most ${maxLineLength} are allowed`) });
      return;
    }
    const control = CONTROL_RE.exec(textLine);
    if (control) {
      const code = control[0].charCodeAt(0);
      const name = code === 0 ? "NUL" : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
      lines.push({ number, text: "", error: lineError(number, `the line contains the control character ${name}`) });
      return;
    }
    lines.push({ number, text: textLine });
  });
  return lines;
}

/** Non-ASCII is allowed in comments only; everywhere else it must be percent-encoded. */
export function nonAscii(text: string): string | undefined {
  const m = /[^\x20-\x7e\t]/.exec(text);
  return m?.[0];
}
