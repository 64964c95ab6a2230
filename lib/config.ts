/**
 * Server configuration: the contract's table of settings, read from the
 * environment and then from `--flag value` / `--flag=value` arguments (a flag
 * wins over its variable).
 *
 * @module
 */

/** Every setting of the server, already validated. */
export interface Config {
  /** Address to listen on. */
  host: string;
  /** Port to listen on; `0` lets the system pick a free one. */
  port: number;
  /** Silence (no frame, no HTTP request) after which a user is offline. */
  clientTimeoutMs: number;
  /** Period of the server's `pong` probes. */
  probeIntervalMs: number;
  /** Unanswered probes in a row before the user is offline. */
  probeMaxMisses: number;
  /** How long a stored (offline) message lives after it was sent. */
  offlineTtlMs: number;
  /** Frames a socket's bounded outbox holds. */
  outboxCapacity: number;
  /** Largest accepted HTTP request body. */
  maxBodyBytes: number;
  /** How long an outbox may stay full before the socket is closed with 4009. */
  slowConsumerMs: number;
  /** Largest accepted incoming WebSocket frame. */
  maxFrameBytes: number;
  /** Where users, sessions, topics and mailboxes live. */
  store: "sqlite" | "memory";
  /** The SQLite store's directory. */
  dataDir: string;
  /** `normal`: survives a crash of the process; `full`: also a power loss. */
  sync: "normal" | "full";
  /** How long entries stay readable through history. */
  historyTtlMs: number;
  /** Undelivered entries per user before sends to them are refused. */
  mailboxMax: number;
  /** Stored bytes in all before sends are refused. */
  storeMaxBytes: number;
  /** An idle session expires after this long. */
  sessionTtlMs: number;
  /** Users (and names with a mailbox) at most. */
  maxUsers: number;
  /** Topics at most. */
  maxTopics: number;
}

/** Thrown when a setting is malformed; the message names the setting. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Thrown for `--help`: not an error, the caller prints {@linkcode usage}. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  fallback: string;
  meaning: string;
  /** Whole-number settings carry their allowed range. */
  range?: [min: number, max: number];
  /** Settings with a fixed set of values list them. */
  choices?: readonly string[];
  /** Free text (a path): anything but the empty string. */
  text?: true;
}

// setTimeout cannot wait longer than a signed 32-bit number of milliseconds.
const MAX_MS = 2 ** 31 - 1;

const SETTINGS: readonly Setting[] = [
  {
    key: "host",
    env: "IM_HOST",
    flag: "--host",
    fallback: "0.0.0.0",
    meaning: "address to listen on",
  },
  {
    key: "port",
    env: "IM_PORT",
    flag: "--port",
    fallback: "8080",
    meaning: "port; 0 picks a free port",
    range: [0, 65535],
  },
  {
    key: "clientTimeoutMs",
    env: "IM_CLIENT_TIMEOUT_MS",
    flag: "--client-timeout-ms",
    fallback: "60000",
    meaning: "silence after which a user is offline",
    range: [1, MAX_MS],
  },
  {
    key: "probeIntervalMs",
    env: "IM_PROBE_INTERVAL_MS",
    flag: "--probe-interval-ms",
    fallback: "20000",
    meaning: "server pong probe period",
    range: [1, MAX_MS],
  },
  {
    key: "probeMaxMisses",
    env: "IM_PROBE_MAX_MISSES",
    flag: "--probe-max-misses",
    fallback: "3",
    meaning: "unanswered probes in a row before offline",
    range: [1, 1_000_000],
  },
  {
    key: "offlineTtlMs",
    env: "IM_OFFLINE_TTL_MS",
    flag: "--offline-ttl-ms",
    fallback: "600000",
    meaning: "how long stored messages live",
    range: [1, MAX_MS],
  },
  {
    key: "outboxCapacity",
    env: "IM_OUTBOX_CAPACITY",
    flag: "--outbox-capacity",
    fallback: "1024",
    meaning: "frames a socket's bounded outbox holds",
    range: [1, 1_000_000],
  },
  {
    key: "maxBodyBytes",
    env: "IM_MAX_BODY_BYTES",
    flag: "--max-body-bytes",
    fallback: "65536",
    meaning: "largest accepted HTTP body",
    range: [1, 1 << 30],
  },
  {
    key: "slowConsumerMs",
    env: "IM_SLOW_CONSUMER_MS",
    flag: "--slow-consumer-ms",
    fallback: "5000",
    meaning: "how long an outbox may stay full before 4009",
    range: [1, MAX_MS],
  },
  {
    key: "maxFrameBytes",
    env: "IM_MAX_FRAME_BYTES",
    flag: "--max-frame-bytes",
    fallback: "65536",
    meaning: "largest accepted incoming WebSocket frame",
    range: [1, 1 << 30],
  },
  {
    key: "store",
    env: "IM_STORE",
    flag: "--store",
    fallback: "memory",
    meaning: "where state lives: sqlite (durable, under IM_DATA_DIR) or memory (lost on exit)",
    choices: ["sqlite", "memory"],
  },
  {
    key: "dataDir",
    env: "IM_DATA_DIR",
    flag: "--data-dir",
    fallback: "./data",
    meaning: "the SQLite store's directory (one server per directory)",
    text: true,
  },
  {
    key: "sync",
    env: "IM_SYNC",
    flag: "--sync",
    fallback: "normal",
    meaning: "normal (survives a crash of the process) or full (also a power loss)",
    choices: ["normal", "full"],
  },
  {
    key: "historyTtlMs",
    env: "IM_HISTORY_TTL_MS",
    flag: "--history-ttl-ms",
    fallback: "604800000",
    meaning: "how long entries stay readable through history",
    range: [1, MAX_MS],
  },
  {
    key: "mailboxMax",
    env: "IM_MAILBOX_MAX",
    flag: "--mailbox-max",
    fallback: "10000",
    meaning: "undelivered entries per user before sends to them are refused",
    range: [1, 100_000_000],
  },
  {
    key: "storeMaxBytes",
    env: "IM_STORE_MAX_BYTES",
    flag: "--store-max-bytes",
    fallback: "1073741824",
    meaning: "stored bytes in all before sends are refused",
    range: [1, Number.MAX_SAFE_INTEGER],
  },
  {
    key: "sessionTtlMs",
    env: "IM_SESSION_TTL_MS",
    flag: "--session-ttl-ms",
    fallback: "86400000",
    meaning: "an idle session expires after this long",
    range: [1, MAX_MS],
  },
  {
    key: "maxUsers",
    env: "IM_MAX_USERS",
    flag: "--max-users",
    fallback: "100000",
    meaning: "users, and names with a mailbox, at most",
    range: [1, 100_000_000],
  },
  {
    key: "maxTopics",
    env: "IM_MAX_TOPICS",
    flag: "--max-topics",
    fallback: "10000",
    meaning: "topics at most",
    range: [1, 100_000_000],
  },
];

/**
 * The environment variables the server reads: every setting's, and no other.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETTING_VARIABLES } from "./config.ts";
 * assert.ok(SETTING_VARIABLES.includes("IM_PORT"));
 * assert.ok(SETTING_VARIABLES.every((name) => name.startsWith("IM_")));
 * ```
 */
export const SETTING_VARIABLES: readonly string[] = SETTINGS.map((setting) => setting.env);

/**
 * Builds the configuration from environment variables and command-line
 * arguments. Flags win over variables; anything malformed throws a
 * {@linkcode ConfigError} naming the setting.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ IM_PORT: "9000" }, ["--host", "127.0.0.1"]);
 * assert.equal(config.port, 9000);
 * assert.equal(config.host, "127.0.0.1");
 * ```
 *
 * @param env Environment variables (only the `IM_*` names are read).
 * @param args Command-line arguments, without the program name.
 * @returns The validated configuration.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  args: readonly string[],
): Config {
  const raw = new Map<Setting, { value: string; source: string }>();
  for (const setting of SETTINGS) {
    const value = env[setting.env];
    if (value !== undefined) raw.set(setting, { value, source: setting.env });
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") throw new HelpRequested();
    const [name, inline] = splitFlag(arg);
    const setting = SETTINGS.find((s) => s.flag === name);
    if (!setting) throw new ConfigError(`unknown argument ${JSON.stringify(arg)} (see --help)`);
    let value = inline;
    if (value === undefined) {
      value = args[++i];
      if (value === undefined || value.startsWith("--")) {
        throw new ConfigError(`${setting.flag} needs a value`);
      }
    }
    raw.set(setting, { value, source: setting.flag });
  }

  const config: Record<string, string | number> = {};
  for (const setting of SETTINGS) {
    const given = raw.get(setting) ?? { value: setting.fallback, source: setting.env };
    config[setting.key] = setting.range
      ? toWholeNumber(setting, given.value, given.source)
      : setting.choices
      ? toChoice(setting, given.value, given.source)
      : setting.text
      ? toText(given.value, given.source)
      : toHost(given.value, given.source);
  }
  return config as unknown as Config;
}

/**
 * The `--help` text: every setting with its variable, flag and default.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { usage } from "./config.ts";
 * assert.match(usage(), /--port \/ IM_PORT/);
 * ```
 *
 * @returns Several lines of text.
 */
export function usage(): string {
  const rows = SETTINGS.map((s) =>
    `  ${`${s.flag} / ${s.env}`.padEnd(46)} ${s.meaning} (default ${s.fallback})`
  );
  return [
    "Usage: main.ts [--flag value]...",
    "",
    "Settings (a flag wins over its variable):",
    ...rows,
  ].join("\n");
}

function splitFlag(arg: string): [name: string, value: string | undefined] {
  const eq = arg.indexOf("=");
  return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function toWholeNumber(setting: Setting, value: string, source: string): number {
  const [min, max] = setting.range!;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${source}: ${
        JSON.stringify(value)
      } is not a whole number in ${min}..${max} (${setting.meaning})`,
    );
  }
  return n;
}

function toChoice(setting: Setting, value: string, source: string): string {
  if (!setting.choices!.includes(value)) {
    throw new ConfigError(
      `${source}: ${JSON.stringify(value)} is not one of ${setting.choices!.join(", ")}`,
    );
  }
  return value;
}

function toText(value: string, source: string): string {
  if (value.trim() === "") throw new ConfigError(`${source}: must not be empty`);
  return value;
}

function toHost(value: string, source: string): string {
  const host = value.trim();
  if (host === "" || /[\s/]/.test(host)) {
    throw new ConfigError(`${source}: ${JSON.stringify(value)} is not a host address`);
  }
  return host;
}
