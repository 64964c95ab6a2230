/**
 * Server configuration: the contract's table of settings, read from the
 * environment and then from `--flag value` / `--flag=value` arguments (a flag
 * wins over its variable).
 *
 * @module
 */

import { parseRedisUrl } from "./redis/url.ts";

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
  /** Open WebSockets at most; past it an upgrade is 503. */
  maxConnections: number;
  /** Sends per second per user (burst 10×); 0 turns the limit off. */
  rateMessages: number;
  /** Logins and registrations per second per client address (burst 10×); 0 turns it off. */
  rateLogins: number;
  /** Origins allowed on upgrades and POSTs; empty: the request's own (`http://` + Host). */
  allowedOrigins: readonly string[];
  /** How users prove who they are. */
  auth: "open" | "password" | "token";
  /** The HS256 key of `token` mode (UTF-8 bytes). */
  authSecret: string;
  /** Whether `GET /metrics` answers. */
  metrics: "on" | "off";
  /** One line of `key=value` text per event, or one JSON object. */
  logFormat: "text" | "json";
  /** The least severe events written. */
  logLevel: "debug" | "info" | "warn" | "error";
  /** `redis://host:port[/db]` or `unix:///path`: the cluster's shared store; empty for a single node. */
  redisUrl: string;
  /** This node's name in a cluster; empty for a random one. */
  nodeId: string;
}

/**
 * Thrown when a setting is malformed; the message names the setting.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError, parseConfig } from "./config.ts";
 * assert.throws(() => parseConfig({ IM_PORT: "eighty" }, []), ConfigError);
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Thrown for `--help`: not an error, the caller prints {@linkcode usage}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { HelpRequested, parseConfig } from "./config.ts";
 * assert.throws(() => parseConfig({}, ["--help"]), HelpRequested);
 * ```
 */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

/** What the configuration depends on besides the settings themselves. */
export interface ConfigContext {
  /** The process's soft limit on open files, when known (`auto` connections derive from it). */
  fileLimit?: number;
}

/** Turns a setting's text into its value, or throws a ConfigError naming `source`. */
type Parse = (value: string, source: string, context: ConfigContext) => unknown;

interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  fallback: string;
  meaning: string;
  parse: Parse;
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
    parse: host,
  },
  {
    key: "port",
    env: "IM_PORT",
    flag: "--port",
    fallback: "8080",
    meaning: "port; 0 picks a free port",
    parse: wholeNumber(0, 65535),
  },
  {
    key: "clientTimeoutMs",
    env: "IM_CLIENT_TIMEOUT_MS",
    flag: "--client-timeout-ms",
    fallback: "60000",
    meaning: "silence after which a user is offline",
    parse: wholeNumber(1, MAX_MS),
  },
  {
    key: "probeIntervalMs",
    env: "IM_PROBE_INTERVAL_MS",
    flag: "--probe-interval-ms",
    fallback: "20000",
    meaning: "server pong probe period",
    parse: wholeNumber(1, MAX_MS),
  },
  {
    key: "probeMaxMisses",
    env: "IM_PROBE_MAX_MISSES",
    flag: "--probe-max-misses",
    fallback: "3",
    meaning: "unanswered probes in a row before offline",
    parse: wholeNumber(1, 1_000_000),
  },
  {
    key: "offlineTtlMs",
    env: "IM_OFFLINE_TTL_MS",
    flag: "--offline-ttl-ms",
    fallback: "600000",
    meaning: "how long stored messages live",
    parse: wholeNumber(1, MAX_MS),
  },
  {
    key: "outboxCapacity",
    env: "IM_OUTBOX_CAPACITY",
    flag: "--outbox-capacity",
    fallback: "1024",
    meaning: "frames a socket's bounded outbox holds",
    parse: wholeNumber(1, 1_000_000),
  },
  {
    key: "maxBodyBytes",
    env: "IM_MAX_BODY_BYTES",
    flag: "--max-body-bytes",
    fallback: "65536",
    meaning: "largest accepted HTTP body",
    parse: wholeNumber(1, 1 << 30),
  },
  {
    key: "slowConsumerMs",
    env: "IM_SLOW_CONSUMER_MS",
    flag: "--slow-consumer-ms",
    fallback: "5000",
    meaning: "how long an outbox may stay full before 4009",
    parse: wholeNumber(1, MAX_MS),
  },
  {
    key: "maxFrameBytes",
    env: "IM_MAX_FRAME_BYTES",
    flag: "--max-frame-bytes",
    fallback: "65536",
    meaning: "largest accepted incoming WebSocket frame",
    parse: wholeNumber(1, 1 << 30),
  },
  {
    key: "store",
    env: "IM_STORE",
    flag: "--store",
    fallback: "sqlite",
    meaning: "where state lives: sqlite (durable, under IM_DATA_DIR) or memory (lost on exit)",
    parse: oneOf(["sqlite", "memory"]),
  },
  {
    key: "dataDir",
    env: "IM_DATA_DIR",
    flag: "--data-dir",
    fallback: "./data",
    meaning: "the SQLite store's directory (one server per directory)",
    parse: text,
  },
  {
    key: "sync",
    env: "IM_SYNC",
    flag: "--sync",
    fallback: "normal",
    meaning: "normal (survives a crash of the process) or full (also a power loss)",
    parse: oneOf(["normal", "full"]),
  },
  {
    key: "historyTtlMs",
    env: "IM_HISTORY_TTL_MS",
    flag: "--history-ttl-ms",
    fallback: "604800000",
    meaning: "how long entries stay readable through history",
    parse: wholeNumber(1, MAX_MS),
  },
  {
    key: "mailboxMax",
    env: "IM_MAILBOX_MAX",
    flag: "--mailbox-max",
    fallback: "10000",
    meaning: "undelivered entries per user before sends to them are refused",
    parse: wholeNumber(1, 100_000_000),
  },
  {
    key: "storeMaxBytes",
    env: "IM_STORE_MAX_BYTES",
    flag: "--store-max-bytes",
    fallback: "1073741824",
    meaning: "stored bytes in all before sends are refused",
    parse: wholeNumber(1, Number.MAX_SAFE_INTEGER),
  },
  {
    key: "sessionTtlMs",
    env: "IM_SESSION_TTL_MS",
    flag: "--session-ttl-ms",
    fallback: "86400000",
    meaning: "an idle session expires after this long",
    parse: wholeNumber(1, MAX_MS),
  },
  {
    key: "maxUsers",
    env: "IM_MAX_USERS",
    flag: "--max-users",
    fallback: "100000",
    meaning: "users, and names with a mailbox, at most",
    parse: wholeNumber(1, 100_000_000),
  },
  {
    key: "maxTopics",
    env: "IM_MAX_TOPICS",
    flag: "--max-topics",
    fallback: "10000",
    meaning: "topics at most",
    parse: wholeNumber(1, 100_000_000),
  },
  {
    key: "maxConnections",
    env: "IM_MAX_CONNECTIONS",
    flag: "--max-connections",
    fallback: "auto",
    meaning: "open WebSockets at most (auto: 90 % of the open-file limit, less 100)",
    parse: connections,
  },
  {
    key: "rateMessages",
    env: "IM_RATE_MESSAGES",
    flag: "--rate-messages",
    fallback: "1000",
    meaning: "sends per second per user, burst 10x (0: no limit)",
    parse: wholeNumber(0, 1_000_000),
  },
  {
    key: "rateLogins",
    env: "IM_RATE_LOGINS",
    flag: "--rate-logins",
    fallback: "100",
    meaning: "logins per second per client address, burst 10x (0: no limit)",
    parse: wholeNumber(0, 1_000_000),
  },
  {
    key: "allowedOrigins",
    env: "IM_ALLOWED_ORIGINS",
    flag: "--allowed-origins",
    fallback: "",
    meaning: "comma-separated origins allowed on upgrades and POSTs (empty: the request's own)",
    parse: origins,
  },
  {
    key: "auth",
    env: "IM_AUTH",
    flag: "--auth",
    fallback: "open",
    meaning: "open (a name is enough), password (register + login) or token (HS256 JWTs)",
    parse: oneOf(["open", "password", "token"]),
  },
  {
    key: "authSecret",
    env: "IM_AUTH_SECRET",
    flag: "--auth-secret",
    fallback: "",
    meaning: "the HS256 key of token mode, at least 16 characters",
    parse: (value) => value,
  },
  {
    key: "metrics",
    env: "IM_METRICS",
    flag: "--metrics",
    fallback: "on",
    meaning: "on: GET /metrics answers in the Prometheus text format; off: 404",
    parse: oneOf(["on", "off"]),
  },
  {
    key: "logFormat",
    env: "IM_LOG_FORMAT",
    flag: "--log-format",
    fallback: "text",
    meaning: "text (time event key=value) or json (one object a line)",
    parse: oneOf(["text", "json"]),
  },
  {
    key: "logLevel",
    env: "IM_LOG_LEVEL",
    flag: "--log-level",
    fallback: "info",
    meaning: "the least severe events written: debug, info, warn or error",
    parse: oneOf(["debug", "info", "warn", "error"]),
  },
  {
    key: "redisUrl",
    env: "IM_REDIS_URL",
    flag: "--redis-url",
    fallback: "",
    meaning:
      "redis://host:port[/db] or unix:///path: run as a node of a cluster sharing this Redis (empty: one node)",
    parse: redisUrl,
  },
  {
    key: "nodeId",
    env: "IM_NODE_ID",
    flag: "--node-id",
    fallback: "",
    meaning: "this node's name in a cluster, 1-64 of A-Z a-z 0-9 . _ - (empty: random)",
    parse: nodeId,
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
  context: ConfigContext = {},
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

  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const given = raw.get(setting) ?? { value: setting.fallback, source: setting.env };
    config[setting.key] = setting.parse(given.value, given.source, context);
  }
  const result = config as unknown as Config;
  if (result.auth === "token" && result.authSecret.length < 16) {
    throw new ConfigError("IM_AUTH_SECRET: token mode needs a secret of at least 16 characters");
  }
  return result;
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
    `  ${`${s.flag} / ${s.env}`.padEnd(46)} ${s.meaning} (default ${s.fallback || "none"})`
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

function wholeNumber(min: number, max: number): Parse {
  return (value, source) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(
        `${source}: ${JSON.stringify(value)} is not a whole number in ${min}..${max}`,
      );
    }
    return n;
  };
}

function oneOf(choices: readonly string[]): Parse {
  return (value, source) => {
    if (!choices.includes(value)) {
      throw new ConfigError(
        `${source}: ${JSON.stringify(value)} is not one of ${choices.join(", ")}`,
      );
    }
    return value;
  };
}

function text(value: string, source: string): string {
  if (value.trim() === "") throw new ConfigError(`${source}: must not be empty`);
  return value;
}

function host(value: string, source: string): string {
  const trimmed = value.trim();
  if (trimmed === "" || /[\s/]/.test(trimmed)) {
    throw new ConfigError(`${source}: ${JSON.stringify(value)} is not a host address`);
  }
  return trimmed;
}

function redisUrl(value: string, source: string): string {
  if (value === "") return "";
  try {
    parseRedisUrl(value);
  } catch (error) {
    throw new ConfigError(`${source}: ${JSON.stringify(value)}: ${(error as Error).message}`);
  }
  return value;
}

function nodeId(value: string, source: string): string {
  if (value !== "" && !/^[A-Za-z0-9._-]{1,64}$/.test(value)) {
    throw new ConfigError(`${source}: ${JSON.stringify(value)} is not 1-64 of A-Z a-z 0-9 . _ -`);
  }
  return value;
}

// Sockets, their listener, the store's files and some slack must fit under
// the open-file limit, or accepting fails with EMFILE.
function connections(value: string, source: string, context: ConfigContext): number {
  if (value !== "auto") return wholeNumber(1, 10_000_000)(value, source, context) as number;
  const limit = context.fileLimit ?? 1024;
  return Math.max(1, Math.floor(limit * 0.9) - 100);
}

// `http://chat.example.com,https://chat.example.com:8443`: scheme, host and
// optional port, as browsers send them in `Origin`.
function origins(value: string, source: string): string[] {
  if (value.trim() === "") return [];
  return value.split(",").map((origin) => {
    const trimmed = origin.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(trimmed);
    } catch {
      // Reported below.
    }
    if (!parsed || parsed.origin !== trimmed || parsed.origin === "null") {
      throw new ConfigError(
        `${source}: ${JSON.stringify(trimmed)} is not an origin (scheme://host[:port], no path)`,
      );
    }
    return trimmed;
  });
}
