/**
 * What the CLI stops with: the message is printed as it is (for refusals, the
 * server's own sentence), the hint on the line below it.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: string;
  readonly status?: number;
  readonly entry?: string;
  readonly hint?: string;

  constructor(code: string, message: string, opts: { status?: number; entry?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.entry !== undefined) this.entry = opts.entry;
    if (opts.hint !== undefined) this.hint = opts.hint;
  }

  toJSON(): { code: string; message: string; status?: number; entry?: string; hint?: string } {
    return {
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.entry === undefined ? {} : { entry: this.entry }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}
