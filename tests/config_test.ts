import assert from "node:assert/strict";
import { ConfigError, HelpRequested, parseConfig, usage } from "../lib/config.ts";

// The contract's table: variable, flag, key, default.
const TABLE = [
  ["IM_HOST", "--host", "host", "0.0.0.0"],
  ["IM_PORT", "--port", "port", 8080],
  ["IM_CLIENT_TIMEOUT_MS", "--client-timeout-ms", "clientTimeoutMs", 60000],
  ["IM_PROBE_INTERVAL_MS", "--probe-interval-ms", "probeIntervalMs", 20000],
  ["IM_PROBE_MAX_MISSES", "--probe-max-misses", "probeMaxMisses", 3],
  ["IM_OFFLINE_TTL_MS", "--offline-ttl-ms", "offlineTtlMs", 600000],
  ["IM_OUTBOX_CAPACITY", "--outbox-capacity", "outboxCapacity", 1024],
  ["IM_MAX_BODY_BYTES", "--max-body-bytes", "maxBodyBytes", 65536],
  ["IM_SLOW_CONSUMER_MS", "--slow-consumer-ms", "slowConsumerMs", 5000],
  ["IM_MAX_FRAME_BYTES", "--max-frame-bytes", "maxFrameBytes", 65536],
  ["IM_STORE", "--store", "store", "sqlite"],
  ["IM_DATA_DIR", "--data-dir", "dataDir", "./data"],
  ["IM_SYNC", "--sync", "sync", "normal"],
  ["IM_HISTORY_TTL_MS", "--history-ttl-ms", "historyTtlMs", 604800000],
  ["IM_MAILBOX_MAX", "--mailbox-max", "mailboxMax", 10000],
  ["IM_STORE_MAX_BYTES", "--store-max-bytes", "storeMaxBytes", 1073741824],
  ["IM_SESSION_TTL_MS", "--session-ttl-ms", "sessionTtlMs", 86400000],
  ["IM_MAX_USERS", "--max-users", "maxUsers", 100000],
  ["IM_MAX_TOPICS", "--max-topics", "maxTopics", 10000],
  ["IM_MAX_CONNECTIONS", "--max-connections", "maxConnections", 821], // auto, for 1,024 files
  ["IM_RATE_MESSAGES", "--rate-messages", "rateMessages", 1000],
  ["IM_RATE_LOGINS", "--rate-logins", "rateLogins", 100],
  ["IM_AUTH", "--auth", "auth", "open"],
  ["IM_AUTH_SECRET", "--auth-secret", "authSecret", ""],
  ["IM_METRICS", "--metrics", "metrics", "on"],
  ["IM_LOG_FORMAT", "--log-format", "logFormat", "text"],
  ["IM_LOG_LEVEL", "--log-level", "logLevel", "info"],
  ["IM_REDIS_URL", "--redis-url", "redisUrl", ""],
  ["IM_NODE_ID", "--node-id", "nodeId", ""],
] as const;

const NUMERIC = TABLE.filter(([, , , fallback]) => typeof fallback === "number");

function configError(name: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.ok(
      error.message.includes(name),
      `message ${JSON.stringify(error.message)} names ${name}`,
    );
    return true;
  };
}

Deno.test("config: defaults equal the contract's table", () => {
  const config = parseConfig({}, []);
  const expected = Object.fromEntries(TABLE.map(([, , key, value]) => [key, value]));
  assert.deepEqual({ ...config }, { ...expected, allowedOrigins: [] });
});

Deno.test("config: auto connections stay below the open-file limit", () => {
  assert.equal(parseConfig({}, [], { fileLimit: 20_000 }).maxConnections, 17_900);
  assert.equal(parseConfig({}, [], { fileLimit: 1024 }).maxConnections, 821);
  assert.equal(parseConfig({}, []).maxConnections, 821, "1,024 when the limit is unknown");
  assert.equal(
    parseConfig({ IM_MAX_CONNECTIONS: "50" }, [], { fileLimit: 20_000 }).maxConnections,
    50,
  );
  assert.throws(
    () => parseConfig({ IM_MAX_CONNECTIONS: "0" }, []),
    configError("IM_MAX_CONNECTIONS"),
  );
});

Deno.test("config: allowed origins are a comma-separated list of exact origins", () => {
  assert.deepEqual(
    parseConfig({ IM_ALLOWED_ORIGINS: "https://chat.example, http://localhost:8080" }, [])
      .allowedOrigins,
    ["https://chat.example", "http://localhost:8080"],
  );
  for (
    const bad of ["chat.example", "https://chat.example/", "https://x.example/path", "null", "a,,b"]
  ) {
    assert.throws(
      () => parseConfig({ IM_ALLOWED_ORIGINS: bad }, []),
      configError("IM_ALLOWED_ORIGINS"),
      bad,
    );
  }
});

Deno.test("config: a Redis URL and a node id are checked at start", () => {
  const config = parseConfig(
    { IM_REDIS_URL: "redis://127.0.0.1:6380/2", IM_NODE_ID: "node-a" },
    [],
  );
  assert.deepEqual([config.redisUrl, config.nodeId], ["redis://127.0.0.1:6380/2", "node-a"]);
  for (const bad of ["http://x", "redis://", "redis://h/x", "localhost:6379"]) {
    assert.throws(() => parseConfig({ IM_REDIS_URL: bad }, []), configError("IM_REDIS_URL"), bad);
  }
  assert.throws(() => parseConfig({ IM_NODE_ID: "a b" }, []), configError("IM_NODE_ID"));
});

Deno.test("config: token mode needs a secret of 16 characters or more", () => {
  assert.throws(() => parseConfig({ IM_AUTH: "token" }, []), configError("IM_AUTH_SECRET"));
  assert.throws(
    () => parseConfig({ IM_AUTH: "token", IM_AUTH_SECRET: "short" }, []),
    configError("IM_AUTH_SECRET"),
  );
  const config = parseConfig({ IM_AUTH: "token", IM_AUTH_SECRET: "0123456789abcdef" }, []);
  assert.deepEqual([config.auth, config.authSecret], ["token", "0123456789abcdef"]);
  assert.throws(() => parseConfig({ IM_AUTH: "ldap" }, []), configError("IM_AUTH"));
});

Deno.test("config: each setting is read from its environment variable", () => {
  for (const [env, , key] of NUMERIC) {
    const config = parseConfig({ [env]: "77" }, []);
    assert.equal(config[key], 77, env);
  }
  assert.equal(parseConfig({ IM_HOST: "127.0.0.1" }, []).host, "127.0.0.1");
  assert.equal(parseConfig({ IM_PORT: "0" }, []).port, 0, "port 0 picks a free port");
  assert.equal(
    parseConfig({ OTHER: "x", PORT: "1" }, []).port,
    8080,
    "other variables are ignored",
  );
});

Deno.test("config: each setting is read from its flag, as --flag value and --flag=value", () => {
  for (const [, flag, key] of NUMERIC) {
    assert.equal(parseConfig({}, [flag, "42"])[key], 42, flag);
    assert.equal(parseConfig({}, [`${flag}=43`])[key], 43, flag);
  }
  assert.equal(parseConfig({}, ["--host", "::1"]).host, "::1");
  assert.equal(parseConfig({}, ["--host=localhost"]).host, "localhost");
  const several = parseConfig({}, [
    "--port",
    "9000",
    "--probe-max-misses=5",
    "--host",
    "127.0.0.1",
  ]);
  assert.equal(several.port, 9000);
  assert.equal(several.probeMaxMisses, 5);
  assert.equal(several.host, "127.0.0.1");
});

Deno.test("config: a flag wins over its variable, whatever the order", () => {
  const config = parseConfig({ IM_PORT: "9000", IM_HOST: "10.0.0.1" }, ["--port=9001"]);
  assert.equal(config.port, 9001);
  assert.equal(config.host, "10.0.0.1");
  assert.equal(parseConfig({ IM_PORT: "9000" }, ["--port", "9001", "--port", "9002"]).port, 9002);
});

Deno.test("config: a flag's good value hides a bad variable", () => {
  assert.equal(parseConfig({ IM_PORT: "nope" }, ["--port", "1"]).port, 1);
});

Deno.test("config: bad whole numbers throw ConfigError naming the setting", () => {
  const bad = ["abc", "-1", "1.5", "1e3", "0x10", "", " ", "12abc", "99999999999999999999", "NaN"];
  for (const [env, flag] of NUMERIC) {
    for (const value of bad) {
      assert.throws(() => parseConfig({ [env]: value }, []), configError(env), `${env}=${value}`);
      assert.throws(() => parseConfig({}, [flag, value]), configError(flag), `${flag} ${value}`);
      assert.throws(() => parseConfig({}, [`${flag}=${value}`]), configError(flag));
    }
  }
});

Deno.test("config: values out of range throw ConfigError naming the setting", () => {
  assert.throws(() => parseConfig({ IM_PORT: "65536" }, []), configError("IM_PORT"));
  assert.equal(parseConfig({ IM_PORT: "65535" }, []).port, 65535);
  for (const [env, flag, key] of NUMERIC) {
    // 0 is a free port, or a rate limit turned off.
    if (key === "port" || key === "rateMessages" || key === "rateLogins") continue;
    assert.throws(() => parseConfig({ [env]: "0" }, []), configError(env), `${env}=0`);
    assert.throws(() => parseConfig({}, [flag, "0"]), configError(flag), `${flag} 0`);
  }
  // Timers cannot wait longer than 2^31 - 1 ms.
  assert.throws(
    () => parseConfig({}, ["--client-timeout-ms", String(2 ** 31)]),
    configError("--client-timeout-ms"),
  );
  assert.equal(
    parseConfig({}, ["--client-timeout-ms", String(2 ** 31 - 1)]).clientTimeoutMs,
    2 ** 31 - 1,
  );
});

Deno.test("config: an empty or malformed host throws ConfigError naming the setting", () => {
  for (const value of ["", "  ", "a b", "http://x/"]) {
    assert.throws(() => parseConfig({ IM_HOST: value }, []), configError("IM_HOST"), value);
    assert.throws(() => parseConfig({}, ["--host", value]), configError("--host"), value);
  }
});

Deno.test("config: settings with a fixed set of values take only those", () => {
  assert.equal(parseConfig({ IM_STORE: "sqlite" }, []).store, "sqlite");
  assert.equal(parseConfig({}, ["--sync=full"]).sync, "full");
  for (const [name, value] of [["IM_STORE", "redis"], ["IM_STORE", ""], ["IM_SYNC", "FULL"]]) {
    assert.throws(() => parseConfig({ [name]: value }, []), configError(name), `${name}=${value}`);
  }
  assert.throws(() => parseConfig({}, ["--store", "mem"]), /one of sqlite, memory/);
});

Deno.test("config: the data directory is any non-empty path", () => {
  assert.equal(parseConfig({}, ["--data-dir", "/var/lib/huayi im"]).dataDir, "/var/lib/huayi im");
  assert.throws(() => parseConfig({ IM_DATA_DIR: " " }, []), configError("IM_DATA_DIR"));
});

Deno.test("config: unknown flags and stray arguments throw ConfigError naming them", () => {
  assert.throws(() => parseConfig({}, ["--prot", "80"]), configError("--prot"));
  assert.throws(() => parseConfig({}, ["--prot=80"]), configError("--prot"));
  assert.throws(() => parseConfig({}, ["8080"]), configError("8080"));
  assert.throws(() => parseConfig({}, ["--PORT", "80"]), configError("--PORT"));
});

Deno.test("config: a flag without a value throws ConfigError naming it", () => {
  for (const [, flag] of TABLE) {
    assert.throws(() => parseConfig({}, [flag]), configError(flag), flag);
  }
  // A numeric flag followed by another flag: the flag is no number.
  assert.throws(() => parseConfig({}, ["--port", "--host"]), configError("--port"));
});

Deno.test({
  name: "config: --host followed by another flag is a missing value, not a host name",
  fn() {
    assert.throws(() => parseConfig({}, ["--host", "--port"]), configError("--host"));
    assert.throws(() => parseConfig({}, ["--host", "--port", "80"]), configError("--host"));
  },
});

Deno.test("config: --help and -h throw HelpRequested", () => {
  assert.throws(() => parseConfig({}, ["--help"]), HelpRequested);
  assert.throws(() => parseConfig({}, ["-h"]), HelpRequested);
  assert.throws(() => parseConfig({}, ["--port", "1", "--help"]), HelpRequested);
  assert.ok(!(new HelpRequested() instanceof ConfigError));
});

Deno.test("config: usage() lists every variable, flag and default", () => {
  const text = usage();
  for (const [env, flag, key, fallback] of TABLE) {
    assert.ok(text.includes(env), env);
    assert.ok(text.includes(flag), flag);
    const shown = key === "maxConnections" ? "auto" : String(fallback) || "none";
    assert.ok(text.includes(`(default ${shown})`), `${env} default ${shown}`);
  }
});
