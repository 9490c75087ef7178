import cliProgress from "cli-progress";
import { formatBytes } from "../../lib/uploads/format";

export interface Reporter {
  /** One line of what is happening. */
  step(text: string): void;
  uploadStart(total: number): void;
  uploadProgress(sent: number, total: number): void;
  uploadEnd(): void;
}

/** Nothing at all: --json prints only its one result. */
export const silentReporter: Reporter = { step() {}, uploadStart() {}, uploadProgress() {}, uploadEnd() {} };

/**
 * A live bar on a terminal; in a log (CI, a pipe) plain lines at each quarter
 * instead, since a redrawn bar would fill it with control codes.
 */
export function reporterFor(stream: NodeJS.WriteStream): Reporter {
  if (stream.isTTY) {
    let bar: cliProgress.SingleBar | null = null;
    return {
      step: (text) => stream.write(`${text}\n`),
      uploadStart(total) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: "Uploading [{bar}] {percentage}% | {sentText} of {totalText}",
            hideCursor: true,
            clearOnComplete: false,
            barsize: 30,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { sentText: formatBytes(0), totalText: formatBytes(total) });
      },
      uploadProgress(sent) {
        bar?.update(sent, { sentText: formatBytes(sent) });
      },
      uploadEnd() {
        bar?.stop();
        bar = null;
      },
    };
  }
  let nextQuarter = 1;
  return {
    step: (text) => stream.write(`${text}\n`),
    uploadStart: (total) => stream.write(`Uploading ${formatBytes(total)}\n`),
    uploadProgress(sent, total) {
      while (nextQuarter <= 4 && sent >= (total * nextQuarter) / 4) {
        stream.write(`  ${nextQuarter * 25}% (${formatBytes(sent)})\n`);
        nextQuarter += 1;
      }
    },
    uploadEnd() {},
  };
}
