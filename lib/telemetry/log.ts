/**
 * Event logging: one line per meaningful event on stderr, as `key=value`
 * text (the default) or as one JSON object (`IM_LOG_FORMAT=json`), filtered
 * by level (`IM_LOG_LEVEL`). There is no line per message.
 *
 * @module
 */

/** Field values a log line can carry. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** How severe an event is, least first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Writes one event; `info` unless told otherwise. */
export type Logger = (event: string, fields?: LogFields, level?: LogLevel) => void;

/** How a logger writes. */
export interface LoggerOptions {
  /** `text` (the default) or `json`. */
  format?: "text" | "json";
  /** Events less severe than this are dropped (default `info`). */
  level?: LogLevel;
  /** Where each line goes, newline included (default: stderr). */
  write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const encoder = new TextEncoder();

/**
 * A logger writing lines like `2026-11-23T06:00:00.000Z login user=Harry`
 * (or, as JSON, `{"time":"…","level":"info","event":"login","user":"Harry"}`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger, stderrLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = stderrLogger((line) => lines.push(line));
 * log("login", { user: "Harry" });
 * assert.match(lines[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z login user=Harry\n$/);
 * const json = createLogger({ format: "json", level: "warn", write: (line) => lines.push(line) });
 * json("login", { user: "Harry" }); // below warn: dropped
 * json("accept-failed", { error: "EMFILE" }, "warn");
 * const event = JSON.parse(lines[1]);
 * assert.deepEqual([event.level, event.event, event.error], ["warn", "accept-failed", "EMFILE"]);
 * ```
 *
 * @param write Where each line goes, newline included.
 */
export function stderrLogger(write: (line: string) => void = writeStderr): Logger {
  return createLogger({ write });
}

/**
 * A logger of the given format and level.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger({ format: "json", write: (line) => lines.push(line) });
 * log("disconnect", { user: "Ron_W", code: 4009 }, "warn");
 * const event = JSON.parse(lines[0]);
 * assert.equal(typeof event.time, "string");
 * assert.deepEqual({ ...event, time: 0 }, {
 *   time: 0, level: "warn", event: "disconnect", user: "Ron_W", code: 4009,
 * });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? writeStderr;
  const least = RANK[options.level ?? "info"];
  const format = options.format === "json" ? formatJson : formatLine;
  return (event, fields = {}, level = "info") => {
    if (RANK[level] < least) return;
    write(format(new Date(), event, fields, level) + "\n");
  };
}

/**
 * A logger that writes nothing (for unit tests).
 *
 * @example Usage
 * ```ts
 * import { silentLogger } from "./log.ts";
 * silentLogger("login", { user: "Harry" }); // goes nowhere
 * ```
 */
export const silentLogger: Logger = () => {};

/**
 * Formats one text line; values with spaces or quotes are JSON-quoted. The
 * level shows only when it is not `info`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatLine } from "./log.ts";
 * assert.equal(
 *   formatLine(new Date(0), "disconnect", { user: "Ron_W", reason: "slow consumer" }),
 *   '1970-01-01T00:00:00.000Z disconnect user=Ron_W reason="slow consumer"',
 * );
 * ```
 */
export function formatLine(
  at: Date,
  event: string,
  fields: LogFields,
  level: LogLevel = "info",
): string {
  let line = `${at.toISOString()} ${level === "info" ? "" : `${level.toUpperCase()} `}${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line;
}

/**
 * Formats one JSON line: `time`, `level`, `event`, then the fields (a field
 * cannot overwrite those three).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatJson } from "./log.ts";
 * assert.equal(
 *   formatJson(new Date(0), "login", { user: "Harry", event: "forged" }, "info"),
 *   '{"time":"1970-01-01T00:00:00.000Z","level":"info","event":"login","user":"Harry"}',
 * );
 * ```
 */
export function formatJson(at: Date, event: string, fields: LogFields, level: LogLevel): string {
  const record: Record<string, unknown> = { time: at.toISOString(), level, event };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && !(key in record)) record[key] = value;
  }
  return JSON.stringify(record);
}

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line));
}
