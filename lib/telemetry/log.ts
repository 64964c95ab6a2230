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
 * A logger writing lines like `2026-11-23T06:00:00.000Z login user=Harry`,
 * to stderr unless told otherwise.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { stderrLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = stderrLogger((line) => lines.push(line));
 * log("login", { user: "Harry" });
 * assert.match(lines[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z login user=Harry\n$/);
 * ```
 *
 * @param write Where each line goes, newline included.
 */
export function stderrLogger(write: (line: string) => void = writeStderr): Logger {
  return (event, fields = {}) => write(formatLine(new Date(), event, fields) + "\n");
}

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line));
}

/** A logger that writes nothing (for unit tests). */
export const silentLogger: Logger = () => {};

/**
 * Formats one log line; values with spaces or quotes are JSON-quoted.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatLine } from "./log.ts";
 * assert.equal(
 *   formatLine(new Date(0), "disconnect", { user: "Ron_W", reason: "slow consumer" }),
 *   '1970-01-01T00:00:00.000Z disconnect user=Ron_W reason="slow consumer"',
 * );
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
