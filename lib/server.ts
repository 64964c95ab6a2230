/**
 * The server's life: `Deno.serve`, the WebSocket upgrade, and one
 * `AbortController` whose abort stops accepting, closes every socket with 1001
 * and ends every loop and timer.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { createApiHandler, json } from "./http/api.ts";
import { Hub } from "./realtime/hub.ts";
import { MemoryDirectory } from "./store/directory_memory.ts";
import { MemoryMailbox } from "./store/mailbox_memory.ts";
import type { Logger } from "./telemetry/log.ts";

/** A running server. */
export interface RunningServer {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Settles once the server has stopped after the signal was aborted. */
  readonly finished: Promise<void>;
}

/** How to run the server besides its configuration. */
export interface ServeOptions {
  /** Aborting it shuts the server down. */
  signal: AbortSignal;
  log: Logger;
  /** Answers paths outside `/api/` (the web client); 404 JSON when absent. */
  fallback?: (request: Request) => Response | Promise<Response>;
}

/**
 * Starts the server.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * import { serve } from "./server.ts";
 * import { silentLogger } from "./telemetry/log.ts";
 * const config = parseConfig({}, ["--host", "127.0.0.1", "--port", "0"]);
 * const controller = new AbortController();
 * const server = serve(config, { signal: controller.signal, log: silentLogger });
 * const health = await fetch(`${server.url}/healthz`);
 * assert.deepEqual(await health.json(), { status: "ok" });
 * controller.abort();
 * await server.finished;
 * ```
 */
export function serve(config: Config, options: ServeOptions): RunningServer {
  const { signal, log } = options;
  const mailbox = new MemoryMailbox({
    offlineTtlMs: config.offlineTtlMs,
    historyTtlMs: config.historyTtlMs,
    mailboxMax: config.mailboxMax,
    maxBytes: config.storeMaxBytes,
    maxMailboxes: config.maxUsers,
    onAppended: (user, entry) => hub.offer(user, entry),
  });
  const directory = new MemoryDirectory({
    sessionTtlMs: config.sessionTtlMs,
    maxUsers: config.maxUsers,
    maxTopics: config.maxTopics,
    maxSessions: config.maxUsers,
  });
  const hub: Hub = new Hub(config, { directory, mailbox }, log);
  hub.start(signal);
  const handler = createApiHandler({
    hub,
    log,
    maxBodyBytes: config.maxBodyBytes,
    upgrade: (request, session, since) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return json(400, { error: "expected a WebSocket upgrade request" });
      }
      let upgraded;
      try {
        upgraded = Deno.upgradeWebSocket(request);
      } catch (error) {
        return json(400, { error: `not a valid WebSocket handshake: ${(error as Error).message}` });
      }
      const { socket, response } = upgraded;
      socket.onopen = () => hub.attach(session, socket, since);
      return response;
    },
    fallback: options.fallback ?? (() => json(404, { error: "not found" })),
  });
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    signal,
    onListen: () => {},
    onError: (error) => {
      log("error", { error: String((error as Error)?.stack ?? error) });
      return json(500, { error: "internal error" });
    },
  }, handler);
  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const finished = server.finished.then(async () => {
    await Promise.all([mailbox.close(), directory.close()]);
  });
  return { url: `http://${host}:${port}`, finished };
}
