/**
 * Huayi IM: starts the server with the configuration from the environment and
 * the command line, and shuts it down gracefully on SIGINT or SIGTERM.
 *
 * @module
 */

import { ConfigError, HelpRequested, parseConfig, SETTING_VARIABLES, usage } from "./lib/config.ts";
import { stderrLogger } from "./lib/telemetry/log.ts";
import { serve } from "./lib/server.ts";
import { createStaticHandler } from "./lib/http/static_files.ts";

function readEnvironment(): Record<string, string | undefined> {
  return Object.fromEntries(SETTING_VARIABLES.map((name) => [name, Deno.env.get(name)]));
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
