import cliProgress from "cli-progress";
import { formatBytes } from "../../lib/uploads/format";

export interface Reporter {
  /** One line of what is happening. */
  step(text: string): void;
  /** `total`: the bytes `done` counts up to (the folder's, while its zip is written and sent at once). */
  uploadStart(total: number): void;
  uploadProgress(done: number, total: number, sent: number): void;
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
            format: "Uploading [{bar}] {percentage}% | {sentText} sent",
            hideCursor: true,
            clearOnComplete: false,
            barsize: 30,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { sentText: formatBytes(0) });
      },
      uploadProgress(done, _total, sent) {
        bar?.update(done, { sentText: formatBytes(sent) });
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
    uploadStart: () => stream.write("Uploading\n"),
    uploadProgress(done, total, sent) {
      while (nextQuarter <= 4 && done >= (total * nextQuarter) / 4) {
        stream.write(`  ${nextQuarter * 25}% (${formatBytes(sent)} sent)\n`);
        nextQuarter += 1;
      }
    },
    uploadEnd() {},
  };
}
