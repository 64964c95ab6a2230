/**
 * The server's assembly: the store the configuration names, the hub, the
 * authenticator and rate limits, the HTTP API with the WebSocket upgrade,
 * and one `AbortController` whose abort stops accepting, closes every socket
 * with 1001, ends every loop and timer, and closes the store.
 *
 * @module
 */

import { createAuthenticator } from "./auth/authenticator.ts";
import { type Config, ConfigError } from "./config.ts";
import { createApiHandler, json } from "./http/api.ts";
import { listen } from "./http/listener.ts";
import { Hub } from "./realtime/hub.ts";
import type { Directory } from "./store/directory.ts";
import { MemoryDirectory } from "./store/directory_memory.ts";
import type { Entry, Mailbox } from "./store/mailbox.ts";
import { MemoryMailbox } from "./store/mailbox_memory.ts";
import { monitorEventLoopLag } from "./telemetry/event_loop_lag.ts";
import type { Logger } from "./telemetry/log.ts";
import { createServerMetrics, type ServerMetrics } from "./telemetry/server_metrics.ts";
import { createTracing } from "./telemetry/tracing.ts";
import { RateLimiter } from "./util/rate_limiter.ts";

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

// Keys a rate limiter tracks at once; past it new keys share one bucket.
const LIMITER_KEYS = 100_000;

/**
 * Starts the server.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * import { serve } from "./server.ts";
 * import { silentLogger } from "./telemetry/log.ts";
 * const config = parseConfig({}, ["--host", "127.0.0.1", "--port", "0", "--store", "memory"]);
 * const controller = new AbortController();
 * const server = await serve(config, { signal: controller.signal, log: silentLogger });
 * const health = await fetch(`${server.url}/healthz`);
 * assert.deepEqual(await health.json(), { status: "ok" });
 * controller.abort();
 * await server.finished;
 * ```
 *
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 */
export async function serve(config: Config, options: ServeOptions): Promise<RunningServer> {
  const { signal, log } = options;
  const store = openStore(config, (user, entry) => hub.offer(user, entry));
  const metrics = config.metrics === "on" ? createMetrics(() => hub, store) : undefined;
  const tracing = createTracing("huayi-im");
  const hub: Hub = new Hub({ ...config, metrics, tracing }, store, log);
  const authenticator = await createAuthenticator(config.auth, config.authSecret, store.directory);
  let upgrading = 0;
  const handler = createApiHandler({
    hub,
    log,
    authenticator,
    maxBodyBytes: config.maxBodyBytes,
    maxConnections: config.maxConnections,
    connections: () => hub.connectionCount + upgrading,
    allowedOrigins: config.allowedOrigins,
    sendLimiter: limiter(config.rateMessages),
    loginLimiter: limiter(config.rateLogins),
    metrics,
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
      upgrading++;
      // Counted until the hub holds it, or until it fails to open.
      const settled = () => {
        upgrading--;
        socket.removeEventListener("close", settled);
      };
      socket.addEventListener("close", settled);
      socket.onopen = () => {
        settled();
        hub.attach(session, socket, since);
      };
      return response;
    },
    fallback: options.fallback ?? (() => json(404, { error: "not found" })),
  });
  let listener;
  try {
    listener = listen({
      hostname: config.host,
      port: config.port,
      signal,
      log,
      handler,
      onError: (error) => {
        log("error", { error: String((error as Error)?.stack ?? error) }, "error");
        return json(500, { error: "internal error" });
      },
    });
  } catch (error) {
    await closeStore(store);
    throw error;
  }
  hub.start(signal);
  if (metrics) monitorEventLoopLag({ signal, histogram: metrics.eventLoopLag });
  const host = listener.hostname.includes(":") ? `[${listener.hostname}]` : listener.hostname;
  const finished = listener.finished.then(() => closeStore(store));
  return { url: `http://${host}:${listener.port}`, finished };
}

function createMetrics(hub: () => Hub, store: Store): ServerMetrics {
  return createServerMetrics({
    connectionsOpen: () => hub().connectionCount,
    usersOnline: () => hub().connectionCount,
    mailboxEntries: () => store.mailbox.stats().entries,
    storeBytes: () => store.mailbox.stats().bytes,
    users: () => store.directory.stats().users,
    topics: () => store.directory.stats().topics,
    outboxFrames: () => hub().stats().outboxFrames,
  });
}

function limiter(ratePerSecond: number): RateLimiter | undefined {
  if (ratePerSecond === 0) return undefined;
  return new RateLimiter({ ratePerSecond, burst: ratePerSecond * 10, maxKeys: LIMITER_KEYS });
}

interface Store {
  readonly directory: Directory;
  readonly mailbox: Mailbox;
}

function openStore(config: Config, onAppended: (user: string, entry: Entry) => void): Store {
  if (config.redisUrl !== "") {
    throw new ConfigError("IM_REDIS_URL: cluster mode is not in this build yet");
  }
  const mailbox = new MemoryMailbox({
    offlineTtlMs: config.offlineTtlMs,
    historyTtlMs: config.historyTtlMs,
    mailboxMax: config.mailboxMax,
    maxBytes: config.storeMaxBytes,
    maxMailboxes: config.maxUsers,
    onAppended,
  });
  const directory = new MemoryDirectory({
    sessionTtlMs: config.sessionTtlMs,
    maxUsers: config.maxUsers,
    maxTopics: config.maxTopics,
    maxSessions: config.maxUsers,
  });
  return { directory, mailbox };
}

async function closeStore(store: Store): Promise<void> {
  await Promise.all([store.mailbox.close(), store.directory.close()]);
}
