/**
 * Huayi IM: starts the server with the configuration from the environment and
 * the command line, and shuts it down gracefully on SIGINT or SIGTERM.
 *
 * @module
 */

import { ConfigError, HelpRequested, parseConfig, SETTING_VARIABLES, usage } from "./lib/config.ts";
import { DataDirError } from "./lib/store/sqlite_database.ts";
import { StoreUnavailableError } from "./lib/store/store_error.ts";
import { createLogger } from "./lib/telemetry/log.ts";
import { serve } from "./lib/server.ts";
import { createStaticHandler } from "./lib/http/static_files.ts";

function readEnvironment(): Record<string, string | undefined> {
  return Object.fromEntries(SETTING_VARIABLES.map((name) => [name, Deno.env.get(name)]));
}

// The soft limit on open files, from /proc (Linux); `IM_MAX_CONNECTIONS=auto`
// stays below it.
function fileLimit(): number | undefined {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isSafeInteger(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}

function fail(message: string): never {
  console.error(`huayi-im: ${message}`);
  Deno.exit(2);
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

function rootCause(error: unknown): unknown {
  while (error instanceof Error && error.cause !== undefined) error = error.cause;
  return error;
}

if (import.meta.main) {
  let config;
  try {
    config = parseConfig(readEnvironment(), Deno.args, { fileLimit: fileLimit() });
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(usage());
      Deno.exit(0);
    }
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const log = createLogger({ format: config.logFormat, level: config.logLevel });
  const controller = new AbortController();
  const shutdown = (signal: Deno.Signal) => {
    if (controller.signal.aborted) return;
    log("shutdown", { signal });
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  let server;
  try {
    server = await serve(config, {
      signal: controller.signal,
      log,
      fallback: createStaticHandler(new URL("./web/", import.meta.url)),
    });
  } catch (error) {
    if (error instanceof DataDirError) fail(error.message);
    if (error instanceof StoreUnavailableError) {
      // A permission Deno lacks (a Unix socket's path) is a setting to fix, not an outage.
      if (rootCause(error) instanceof Deno.errors.NotCapable) fail(error.message);
      // Not a bad setting: a supervisor may start it again once Redis is up.
      console.error(`huayi-im: ${error.message}`);
      Deno.exit(1);
    }
    if (error instanceof Deno.errors.AddrInUse) {
      fail(`${config.host}:${config.port} is in use by another process`);
    }
    if (
      error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.PermissionDenied
    ) {
      fail(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    }
    throw error;
  }
  console.log(`listening on ${server.url}`);
  log("listen", { url: server.url, store: config.store, auth: config.auth });
  if (config.auth === "open" && !LOOPBACK.test(config.host)) {
    log("warning", {
      problem:
        `IM_AUTH=open on ${config.host}: anyone who can reach this address can log in as anyone`,
      fix:
        "use IM_AUTH=password or token, or listen on 127.0.0.1 behind a proxy that authenticates",
    });
  }
  await server.finished;
  log("stopped");
  Deno.exit(0);
}
