/**
 * The server's assembly: the store the configuration names, the hub, the
 * authenticator and rate limits, the HTTP API with the WebSocket upgrade,
 * and one `AbortController` whose abort stops accepting, closes every socket
 * with 1001, ends every loop and timer, and closes the store.
 *
 * @module
 */

import { createAuthenticator } from "./auth/authenticator.ts";
import type { Config } from "./config.ts";
import { createApiHandler } from "./http/api.ts";
import { json } from "./http/responses.ts";
import { listen } from "./http/listener.ts";
import { Hub } from "./realtime/hub.ts";
import { openStore, type Store } from "./stores.ts";
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
 * assert.deepEqual(await health.json(), { status: "ok", auth: "open" });
 * controller.abort();
 * await server.finished;
 * ```
 *
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 */
export async function serve(config: Config, options: ServeOptions): Promise<RunningServer> {
  const { signal, log } = options;
  // The store's hooks and the metrics' readings reach the hub, which needs
  // the store first: they find both here once they exist.
  const late: { hub?: Hub; store?: Store } = {};
  const metrics = config.metrics === "on" ? createMetrics(late) : undefined;
  const store = late.store = await openStore(config, {
    onAppended: (user, entry) => late.hub?.offer(user, entry),
    onResync: (lost) => late.hub?.resync(lost),
    onRelay: (user, frame) => late.hub?.notifyLocal(user, frame),
    onCommit: metrics && ((seconds) => metrics.storeCommitSeconds.observe(seconds)),
    onSessionEnded: (session, reason) =>
      late.hub?.sessionEnded(session.sid, session.username, reason),
    redisObserver: metrics && {
      onCommand: (name, seconds, ok) => {
        metrics.redisCommand(name).observe(seconds);
        if (!ok) metrics.redisErrors.inc();
      },
      onReconnect: () => metrics.redisReconnects.inc(),
      onError: () => metrics.redisErrors.inc(),
    },
    onBackgroundError: (error) =>
      log("error", { during: "background", error: String(error) }, "error"),
  });
  if (store.cluster) log("cluster", { node: store.nodeId });
  const tracing = createTracing("huayi-im");
  const hub = late.hub = new Hub(
    { ...config, metrics, tracing, cluster: store.cluster },
    store,
    log,
  );
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
        // Deno's own keep-alive is off (idleTimeout 0): the heartbeat alone
        // decides when a socket is dead, and closes it with 4008 — Deno's
        // would ping after 30 s of silence and close with no code of the
        // contract. Its timer, remade on every frame a client sends, also
        // cost CPU and memory where many sockets answer probes
        // (docs/performance-log.md).
        upgraded = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
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
    await store.close();
    throw error;
  }
  hub.start(signal);
  if (metrics) monitorEventLoopLag({ signal, histogram: metrics.eventLoopLag });
  const host = listener.hostname.includes(":") ? `[${listener.hostname}]` : listener.hostname;
  const finished = listener.finished.then(() => store.close());
  return { url: `http://${host}:${listener.port}`, finished };
}

// Read at scrape time; 0 until the hub and the store exist.
function createMetrics(late: { hub?: Hub; store?: Store }): ServerMetrics {
  return createServerMetrics({
    connectionsOpen: () => late.hub?.connectionCount ?? 0,
    usersOnline: () => late.hub?.connectionCount ?? 0,
    mailboxEntries: () => late.store?.mailbox.stats().entries ?? 0,
    storeBytes: () => late.store?.mailbox.stats().bytes ?? 0,
    users: () => late.store?.directory.stats().users ?? 0,
    topics: () => late.store?.directory.stats().topics ?? 0,
    outboxFrames: () => late.hub?.stats().outboxFrames ?? 0,
  });
}

function limiter(ratePerSecond: number): RateLimiter | undefined {
  if (ratePerSecond === 0) return undefined;
  return new RateLimiter({ ratePerSecond, burst: ratePerSecond * 10, maxKeys: LIMITER_KEYS });
}
