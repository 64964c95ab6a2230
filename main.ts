/**
 * Huayi IM: starts the server with the configuration from the environment and
 * the command line, and shuts it down gracefully on SIGINT or SIGTERM.
 *
 * @module
 */

import { ConfigError, HelpRequested, parseConfig, usage } from "./lib/config.ts";
import { stderrLogger } from "./lib/telemetry/log.ts";
import { serve } from "./lib/server.ts";
import { createStaticHandler } from "./lib/http/static_files.ts";

function readEnvironment(): Record<string, string | undefined> {
  const names = [
    "IM_HOST",
    "IM_PORT",
    "IM_CLIENT_TIMEOUT_MS",
    "IM_PROBE_INTERVAL_MS",
    "IM_PROBE_MAX_MISSES",
    "IM_OFFLINE_TTL_MS",
    "IM_OUTBOX_CAPACITY",
    "IM_MAX_BODY_BYTES",
    "IM_SLOW_CONSUMER_MS",
    "IM_MAX_FRAME_BYTES",
  ];
  return Object.fromEntries(names.map((name) => [name, Deno.env.get(name)]));
}

if (import.meta.main) {
  let config;
  try {
    config = parseConfig(readEnvironment(), Deno.args);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(usage());
      Deno.exit(0);
    }
    if (error instanceof ConfigError) {
      console.error(`huayi-im: ${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
  const log = stderrLogger();
  const controller = new AbortController();
  const shutdown = (signal: Deno.Signal) => {
    if (controller.signal.aborted) return;
    log("shutdown", { signal });
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  const server = serve(config, {
    signal: controller.signal,
    log,
    fallback: createStaticHandler(new URL("./web/", import.meta.url)),
  });
  console.log(`listening on ${server.url}`);
  log("listen", { url: server.url });
  await server.finished;
  log("stopped");
  Deno.exit(0);
}
