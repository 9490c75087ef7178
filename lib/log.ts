import pino from "pino";

/**
 * The one logger of the project: JSON lines on stdout, so that the dashboard
 * and the operator can be read by the same log pipeline. Modules take a child
 * with their own `component` so lines can be filtered without parsing text.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
  base: { service: process.env.PAGODA_SERVICE ?? "pagoda" },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

export function componentLogger(component: string): pino.Logger {
  return logger.child({ component });
}
