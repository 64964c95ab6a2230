/**
 * The server's metrics, with the names of contract-v2 section 8 (Centrifugo's
 * set is the model): one registry, and typed handles for the code that
 * counts. Hot paths hold a handle (a counter's `inc()` is about a
 * nanosecond); what the server already counts is read at scrape time. No
 * label ever carries a username or a topic.
 *
 * @module
 */

import { type Counter, type Histogram, Registry } from "./metrics.ts";

/** What the registry reads at scrape time. */
export interface ScrapeReadings {
  connectionsOpen(): number;
  usersOnline(): number;
  mailboxEntries(): number;
  storeBytes(): number;
  users(): number;
  topics(): number;
  outboxFrames(): number;
}

/** Counted by a socket's writer. */
export interface DeliveryMetrics {
  /** Entries written to sockets. */
  readonly delivered: Counter;
  /** Accepted → written to the socket, in seconds. */
  readonly deliverySeconds: Histogram;
}

/** Counted by the hub. */
export interface HubMetrics extends DeliveryMetrics {
  readonly connectionsAccepted: Counter;
  readonly acceptedDirect: Counter;
  readonly acceptedTopic: Counter;
  readonly resumesRecovered: Counter;
  readonly resumesLost: Counter;
  /** The counter of sockets closed with `code`. */
  closed(code: number): Counter;
}

/** Everything the server counts. */
export interface ServerMetrics extends HubMetrics {
  readonly registry: Registry;
  /** HTTP requests by route pattern and status. */
  http(route: string, status: number): Counter;
  /** Requests refused by a rate limit or a cap, by reason. */
  refused(reason: string): Counter;
  /** Store commits (the durable engine's group commits), in seconds. */
  readonly storeCommitSeconds: Histogram;
  /** How late the event loop ran a timer, in seconds. */
  readonly eventLoopLag: Histogram;
  readonly redisErrors: Counter;
  readonly redisReconnects: Counter;
  /** Redis round trips by command, in seconds. */
  redisCommand(command: string): Histogram;
}

// The codes the server sends, and the standard ones a client or the network
// causes; any other client-chosen code is "other", so the series stay few.
const KNOWN_CODES = new Set([1000, 1001, 1005, 1006, 1009, 1011, 1012, 4000, 4001, 4008, 4009]);
// Round trips on loopback take tens of microseconds; commits and deliveries more.
const FAST_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1];

/**
 * Registers every family and returns the handles.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createServerMetrics } from "./server_metrics.ts";
 * const metrics = createServerMetrics({
 *   connectionsOpen: () => 3, usersOnline: () => 3, mailboxEntries: () => 10,
 *   storeBytes: () => 1000, users: () => 5, topics: () => 1, outboxFrames: () => 0,
 * });
 * metrics.acceptedDirect.inc();
 * metrics.http("/api/messages", 200).inc();
 * const text = metrics.registry.expose();
 * assert.match(text, /^im_messages_accepted_total\{kind="direct"\} 1$/m);
 * assert.match(text, /^im_http_requests_total\{route="\/api\/messages",status="200"\} 1$/m);
 * assert.match(text, /^im_connections_open 3$/m);
 * ```
 */
export function createServerMetrics(read: ScrapeReadings): ServerMetrics {
  const registry = new Registry();
  registry.gaugeFunc("im_connections_open", "Open WebSockets.", read.connectionsOpen);
  const connectionsAccepted = registry.counter(
    "im_connections_accepted_total",
    "WebSockets accepted since start.",
  );
  registry.gaugeFunc("im_users_online", "Users with a live WebSocket here.", read.usersOnline);
  const accepted = registry.counter("im_messages_accepted_total", "Sends accepted (200).", {
    labelNames: ["kind"],
  });
  const delivered = registry.counter(
    "im_messages_delivered_total",
    "Mailbox entries written to sockets.",
  );
  const closes = registry.counter("im_socket_closes_total", "WebSockets closed, by close code.", {
    labelNames: ["code"],
  });
  registry.gaugeFunc("im_mailbox_entries", "Stored mailbox entries.", read.mailboxEntries);
  registry.gaugeFunc(
    "im_store_bytes",
    "Bytes counted against IM_STORE_MAX_BYTES.",
    read.storeBytes,
  );
  registry.gaugeFunc("im_users", "Users who ever logged in.", read.users);
  registry.gaugeFunc("im_topics", "Topics.", read.topics);
  registry.gaugeFunc("im_outbox_frames", "Frames waiting in socket outboxes.", read.outboxFrames);
  const storeCommitSeconds = registry.histogram(
    "im_store_commit_seconds",
    "Durable store commits (one per event-loop turn with writes).",
    { buckets: FAST_BUCKETS },
  );
  const deliverySeconds = registry.histogram(
    "im_delivery_seconds",
    "From a send's acceptance to its entry written to a socket.",
  );
  const requests = registry.counter(
    "im_http_requests_total",
    "HTTP requests, by route and status.",
    {
      labelNames: ["route", "status"],
    },
  );
  const refusals = registry.counter("im_refusals_total", "Requests refused by a limit or cap.", {
    labelNames: ["reason"],
  });
  const resumes = registry.counter("im_resumes_total", "Sockets opened with since, by recovered.", {
    labelNames: ["recovered"],
  });
  const eventLoopLag = registry.histogram(
    "im_event_loop_lag_seconds",
    "How late the event loop ran a 100 ms timer.",
  );
  const redisErrors = registry.counter("im_redis_errors_total", "Failed Redis commands.");
  const redisReconnects = registry.counter("im_redis_reconnects_total", "Redis reconnections.");
  const redisCommands = registry.histogram("im_redis_command_seconds", "Redis round trips.", {
    labelNames: ["command"],
    buckets: FAST_BUCKETS,
  });
  // Held per command name (a few, named in the code): labels() builds a JSON
  // key per call, which at ~15,000 round trips a second was ~2 % of a node.
  const byCommand = new Map<string, ReturnType<typeof redisCommands.labels>>();
  return {
    registry,
    connectionsAccepted,
    acceptedDirect: accepted.labels("direct"),
    acceptedTopic: accepted.labels("topic"),
    delivered,
    deliverySeconds,
    resumesRecovered: resumes.labels("true"),
    resumesLost: resumes.labels("false"),
    closed: (code) => closes.labels(KNOWN_CODES.has(code) ? String(code) : "other"),
    http: (route, status) => requests.labels(route, String(status)),
    refused: (reason) => refusals.labels(reason),
    storeCommitSeconds,
    eventLoopLag,
    redisErrors,
    redisReconnects,
    redisCommand: (command) => {
      let histogram = byCommand.get(command);
      if (histogram === undefined) {
        histogram = redisCommands.labels(command.toLowerCase());
        byCommand.set(command, histogram);
      }
      return histogram;
    },
  };
}
