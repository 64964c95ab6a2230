/**
 * Event logging: one line per meaningful event on stderr, `key=value` fields.
 *
 * @module
 */

/** Field values a log line can carry. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Writes one event. */
export type Logger = (event: string, fields?: LogFields) => void;

const encoder = new TextEncoder();

/**
 * A logger writing lines like `2026-11-23T06:00:00.000Z login user=Harry` to stderr.
 *
 * @example Usage
 * ```ts
 * import { stderrLogger } from "./log.ts";
 * const log = stderrLogger();
 * log("login", { user: "Harry" });
 * ```
 */
export function stderrLogger(): Logger {
  return (event, fields = {}) => {
    Deno.stderr.writeSync(encoder.encode(formatLine(new Date(), event, fields) + "\n"));
  };
}

/** A logger that writes nothing (for unit tests). */
export const silentLogger: Logger = () => {};

/**
 * Formats one log line; values with spaces or quotes are JSON-quoted.
 *
 * @example Usage
 * ```ts
 * import { formatLine } from "./log.ts";
 * formatLine(new Date(0), "disconnect", { user: "Ron", reason: "slow consumer" });
 * // '1970-01-01T00:00:00.000Z disconnect user=Ron reason="slow consumer"'
 * ```
 */
export function formatLine(at: Date, event: string, fields: LogFields): string {
  let line = `${at.toISOString()} ${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line;
}
