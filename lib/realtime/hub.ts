/**
 * The hub: the live connections, and every operation of the API on top of
 * the store (the directory of users, sessions and topics, and the mailbox).
 *
 * A send is one atomic append to the mailbox (`sends.ts`). The mailbox
 * announces each committed entry, and the hub offers it to the user's
 * connection, if any; a connection that cannot take it now reads it from
 * the mailbox later. Nothing is queued anywhere else.
 *
 * @module
 */

import type { Session } from "../core/sessions.ts";
import { Close, type CloseReason } from "../protocol/close_codes.ts";
import { Failure, serverFull } from "../protocol/errors.ts";
import { resumed } from "../protocol/frames.ts";
import { type Message, newMessageId } from "../protocol/messages.ts";
import type { SendRequest } from "../protocol/requests.ts";
import type { Directory, NamePage, PageQuery } from "../store/directory.ts";
import { LocalPresence } from "../store/presence_local.ts";
import type { Presence } from "../store/presence.ts";
import type { Entry, HistoryPage, HistoryQuery, Mailbox } from "../store/mailbox.ts";
import type { Logger } from "../telemetry/log.ts";
import type { HubMetrics } from "../telemetry/server_metrics.ts";
import type { Tracing } from "../telemetry/tracing.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { Upkeep } from "./upkeep.ts";
import { eachInFlight } from "../util/in_flight.ts";
import { type Accepted, type Idempotency, Sender, topicNotFound } from "./sends.ts";

/** What the hub needs from the configuration. */
export interface HubOptions extends ConnectionOptions {
  slowConsumerMs: number;
  /** Where the hub counts, if anywhere (its connections count deliveries there too). */
  metrics?: HubMetrics;
  /** Spans around sends (`im.send`), if traced. */
  tracing?: Tracing;
  /**
   * One of several nodes: sessions can end on another node, which tells
   * this one through {@linkcode Hub.sessionEnded} — best effort, so the
   * clock also re-checks this node's sockets' sessions.
   */
  cluster?: boolean;
}

/** Where the hub keeps everything that outlives a socket. */
export interface HubStore {
  readonly directory: Directory;
  readonly mailbox: Mailbox;
  /** Who is online; this node's sockets alone when absent. */
  readonly presence?: Presence;
}

/** Counters of everything the hub holds, for leak checks and monitoring. */
export interface HubStats {
  users: number;
  sessions: number;
  online: number;
  topics: number;
  mailboxes: number;
  messages: number;
  entries: number;
  storeBytes: number;
  outboxFrames: number;
  /** Timers the server holds: the hub's clock plus writers polling a full socket. */
  timers: number;
}

/**
 * The routing core.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hub } from "./hub.ts";
 * import { MemoryDirectory } from "../store/directory_memory.ts";
 * import { MemoryMailbox } from "../store/mailbox_memory.ts";
 * import { silentLogger } from "../telemetry/log.ts";
 * const limits = { offlineTtlMs: 600_000, historyTtlMs: 600_000, mailboxMax: 100, maxBytes: 1 << 20, maxMailboxes: 100 };
 * const mailbox = new MemoryMailbox({ ...limits, onAppended: (user, entry) => hub.offer(user, entry) });
 * const directory = new MemoryDirectory({ sessionTtlMs: 60_000, maxUsers: 100, maxTopics: 100, maxSessions: 100 });
 * const hub = new Hub({
 *   outboxCapacity: 16, maxFrameBytes: 65536, offlineTtlMs: 600_000, slowConsumerMs: 5000,
 *   clientTimeoutMs: 60_000, probeIntervalMs: 20_000, probeMaxMisses: 3,
 * }, { directory, mailbox }, silentLogger);
 * const controller = new AbortController();
 * hub.start(controller.signal);
 * await hub.login("Harry");
 * const accepted = await hub.send({ kind: "direct", from: "Harry", to: ["Ron_W"], content: "hi" });
 * assert.equal(typeof accepted.id, "string");
 * const ron = await hub.history("Ron_W", { limit: 10 });
 * assert.equal(ron.entries[0].message.content, "hi"); // stored: Ron is offline
 * controller.abort();
 * ```
 */
export class Hub {
  readonly #options: HubOptions;
  readonly #directory: Directory;
  readonly #mailbox: Mailbox;
  readonly #presence: Presence;
  readonly #log: Logger;
  readonly #connections = new Map<string, Connection>();
  // Sessions a newer login replaced, so a late socket of theirs gets 4001, not 4000.
  readonly #replaced = new WeakSet<Session>();
  #clock: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  #lastSentAt = 0;
  readonly #upkeep: Upkeep;
  readonly #sender: Sender;

  /**
   * @param options Timings and limits.
   * @param store The directory and the mailbox.
   * @param log Where events go.
   */
  constructor(options: HubOptions, store: HubStore, log: Logger) {
    this.#options = options;
    this.#directory = store.directory;
    this.#mailbox = store.mailbox;
    this.#presence = store.presence ?? new LocalPresence();
    this.#log = log;
    this.#upkeep = new Upkeep(options, {
      connections: this.#connections,
      directory: this.#directory,
      mailbox: this.#mailbox,
      presence: this.#presence,
      log,
      sessionEnded: (sid, user, reason) => this.sessionEnded(sid, user, reason),
    });
    this.#sender = new Sender({
      directory: this.#directory,
      mailbox: this.#mailbox,
      metrics: options.metrics,
      tracing: options.tracing,
      notify: (user, frame) => this.#notify(user, frame),
      now: () => this.#now(),
    });
  }

  /**
   * Starts the clock that runs heartbeats, the slow-consumer rule and the
   * store's expiry; aborting `signal` closes every socket with 1001 and stops it.
   */
  start(signal: AbortSignal): void {
    if (signal.aborted) return this.#stop();
    const { clientTimeoutMs, probeIntervalMs, slowConsumerMs, offlineTtlMs } = this.#options;
    const tickMs = Math.max(
      5,
      Math.min(1000, Math.min(clientTimeoutMs, probeIntervalMs, slowConsumerMs, offlineTtlMs) / 4),
    );
    this.#clock = setInterval(() => this.#upkeep.tick(Date.now()), tickMs);
    signal.addEventListener("abort", () => this.#stop(), { once: true });
  }

  /** Sockets the hub holds now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  // ---- sessions ----

  /** Opens a session for `username`; their previous one dies (socket closed with 4001). */
  async login(username: string): Promise<Session> {
    const result = await this.#directory.openSession(username);
    if (result.kind === "users_full") throw serverFull("users");
    if (result.kind === "sessions_full") throw serverFull("sessions");
    if (result.replaced) {
      this.#replaced.add(result.replaced);
      this.sessionEnded(result.replaced.sid, username, "replaced");
    }
    this.#log("login", { user: username, replaced: result.replaced !== undefined });
    return result.session;
  }

  /** Ends `session`; its socket closes with 4000. */
  async logout(session: Session): Promise<void> {
    await this.#directory.closeSession(session);
    this.sessionEnded(session.sid, session.username, "logged_out");
    this.#log("logout", { user: session.username });
  }

  /**
   * The session `sid` of `user` ended (here or on another node): its socket
   * here, if any, closes with 4001 (replaced) or 4000.
   */
  sessionEnded(sid: string, user: string, reason: "replaced" | "logged_out"): void {
    const connection = this.#connections.get(user);
    if (connection?.session.sid !== sid) return;
    connection.close(reason === "replaced" ? Close.sessionReplaced : Close.loggedOut);
  }

  /** The live session for `sid`, marked as having shown a sign of life. */
  async authenticate(sid: string): Promise<Session | undefined> {
    const session = await this.#directory.session(sid);
    if (session) this.#directory.touch(session);
    return session;
  }

  /**
   * Makes `socket` (just opened) the live socket of `session`, replacing any
   * previous one (4001), and starts delivering to it: without `since` (v1)
   * from the user's cursor, with it (resume) after the `__resumed__` notice
   * from seq `since`.
   */
  attach(session: Session, socket: WebSocket, since?: number): void {
    if (this.#stopped) return socket.close(Close.goingAway.code, Close.goingAway.reason);
    this.#connections.get(session.username)?.close(Close.sessionReplaced);
    session.lastSeen = Date.now();
    const connection = new Connection(
      session,
      socket,
      this.#mailbox,
      this.#options,
      { resume: since !== undefined },
      this.#onClosed,
      this.#onReadError,
    );
    // Registered before the mailbox is asked where to start, so no entry
    // committed meanwhile is missed: the connection starts behind, reading.
    this.#connections.set(session.username, connection);
    this.#presence.online(session.username);
    this.#upkeep.opened(connection, Date.now());
    this.#options.metrics?.connectionsAccepted.inc();
    this.#begin(connection, since);
  }

  async #begin(connection: Connection, since: number | undefined): Promise<void> {
    const { session } = connection;
    try {
      const live = await this.#directory.session(session.sid);
      if (connection.closed) return;
      if (live?.sid !== session.sid) {
        // Replaced here, or by a login on another node that this one never heard of.
        const replaced = this.#replaced.has(session) || await this.#directory.replaced(session);
        return connection.close(replaced ? Close.sessionReplaced : Close.loggedOut);
      }
      if (since === undefined) {
        const cursor = await this.#mailbox.cursor(session.username);
        connection.start(cursor);
        this.#log("connect", { user: session.username, from: cursor });
        return;
      }
      const { first, last, recovered } = await this.#mailbox.resume(session.username, since);
      const from = since <= last ? Math.max(since, first - 1) : first - 1;
      connection.start(from, resumed({ since, first, last, recovered }));
      const metrics = this.#options.metrics;
      (recovered ? metrics?.resumesRecovered : metrics?.resumesLost)?.inc();
      this.#log("resume", { user: session.username, since, first, last, recovered });
    } catch (error) {
      this.#onReadError(connection, error);
      connection.close(Close.internalError);
    }
  }

  /**
   * Wake-ups from other nodes may have been missed: every socket here reads
   * its mailbox again from its cursor. When the store lost its data
   * (`lost`), seqs start again, so the sockets are closed and clients
   * resume (they are told `recovered: false`).
   */
  resync(lost: boolean): void {
    // Counted first: closing a socket takes it out of the map.
    const sockets = this.#connections.size;
    if (lost) {
      for (const connection of this.#connections.values()) connection.close(Close.storeReset);
    } else {
      // A few hundred at a time: every socket reading at once overflowed the
      // Redis client's queue (10,000 commands) at 19,000 sockets a node, and
      // each refused read closed its socket (1011). resync() never rejects.
      const connections = [...this.#connections.values()];
      eachInFlight(connections, RESYNCS_IN_FLIGHT, (connection) => connection.resync());
    }
    this.#log("resync", { sockets, lost }, lost ? "warn" : "info");
  }

  /** Hands a transient frame to `user`'s socket if it is here (relayed from another node). */
  notifyLocal(user: string, frame: string): void {
    this.#connections.get(user)?.notify(frame);
  }

  // A frame for `user`'s socket, wherever it is.
  #notify(user: string, frame: string): void {
    const connection = this.#connections.get(user);
    if (connection) connection.notify(frame);
    else if (this.#options.cluster) this.#presence.relay(user, frame);
  }

  /** Offers a committed entry to its user's socket, if they have one here. */
  offer(user: string, entry: Entry): void {
    this.#connections.get(user)?.offer(entry);
  }

  #onClosed = (connection: Connection, why: CloseReason): void => {
    if (this.#connections.get(connection.username) === connection) {
      this.#connections.delete(connection.username);
      this.#presence.offline(connection.username);
    }
    this.#options.metrics?.closed(why.code).inc();
    const event = why === Close.slowConsumer ? "slow-consumer" : "disconnect";
    this.#log(
      event,
      { user: connection.username, code: why.code, reason: why.reason },
      why === Close.slowConsumer ? "warn" : "info",
    );
  };

  #onReadError = (connection: Connection, error: unknown): void => {
    this.#log("error", { user: connection.username, error: String(error) }, "error");
  };

  // ---- presence ----

  /** Users who ever logged in, by name; `online` keeps those with a live socket. */
  users(query: PageQuery & { online: boolean }): Promise<NamePage> {
    return query.online ? this.#presence.list(query) : this.#directory.users(query);
  }

  // ---- topics ----

  /** Topic names, by name. */
  topics(query: PageQuery): Promise<NamePage> {
    return this.#directory.topics(query);
  }

  /** Creates `topic`; the creator joins it. Throws `conflict` if it exists. */
  async createTopic(topic: string, creator: string): Promise<void> {
    const result = await this.#directory.createTopic(topic, creator);
    if (result === "exists") throw new Failure("conflict", `topic ${topic} already exists`);
    if (result === "topics_full") throw serverFull("topics");
  }

  /** Adds `user` to `topic`. Throws `not_found`. */
  async joinTopic(topic: string, user: string): Promise<void> {
    if (!await this.#directory.join(topic, [user])) throw topicNotFound(topic);
  }

  /** Removes `user` from `topic`. Throws `not_found`. */
  async quitTopic(topic: string, user: string): Promise<void> {
    if (!await this.#directory.quit(topic, user)) throw topicNotFound(topic);
  }

  /**
   * Deletes `topic`: its messages leave every mailbox (and outbox), and
   * every member gets `__topic_is_deleted__`. Throws `not_found`.
   */
  async deleteTopic(topic: string, by: string): Promise<void> {
    const members = await this.#directory.deleteTopic(topic);
    if (!members) throw topicNotFound(topic);
    await this.#mailbox.purgeTopic(topic);
    // Only outboxes holding something can hold this topic's entries.
    for (const connection of this.#connections.values()) {
      if (connection.queued > 0) connection.purgeTopic(topic);
    }
    const notice: Message = {
      id: newMessageId(),
      sentAt: this.#now(),
      kind: "topic_deleted",
      from: "",
      to: [],
      topic,
      content: "",
    };
    const result = await this.#mailbox.append({
      message: notice,
      recipients: members,
      ownCopy: false,
    });
    this.#log("topic-deleted", { topic, by, members: members.length, notice: result.kind });
  }

  // ---- messages ----

  /** Sends a message: see {@linkcode Sender.send}. */
  send(request: SendRequest, idempotency?: Idempotency): Promise<Accepted> {
    return this.#sender.send(request, idempotency);
  }

  /** Whether {@linkcode Hub.sendAs} can check a sid and append in one step. */
  get checksSessionsOnSend(): boolean {
    return this.#sender.checksSessions;
  }

  /** A send with its sid checked in the same step: see {@linkcode Sender.sendAs}. */
  sendAs(
    sid: string,
    request: SendRequest,
    idempotency?: Idempotency,
  ): Promise<Accepted | undefined> {
    return this.#sender.sendAs(sid, request, idempotency);
  }

  /** A page of `user`'s own mailbox. */
  history(user: string, query: HistoryQuery): Promise<HistoryPage> {
    return this.#mailbox.history(user, query);
  }

  // ---- lifecycle ----

  /** Counts of what the hub holds. */
  stats(): HubStats {
    let outboxFrames = 0;
    let waiting = 0;
    for (const connection of this.#connections.values()) {
      outboxFrames += connection.queued;
      if (connection.waitingForDrain) waiting++;
    }
    const directory = this.#directory.stats();
    const mailbox = this.#mailbox.stats();
    return {
      users: directory.users,
      sessions: directory.sessions,
      online: this.#connections.size,
      topics: directory.topics,
      mailboxes: mailbox.mailboxes,
      messages: mailbox.messages,
      entries: mailbox.entries,
      storeBytes: mailbox.bytes,
      outboxFrames,
      timers: (this.#clock === undefined ? 0 : 1) + waiting,
    };
  }

  // Accept times never go backwards, so each mailbox is in time order too.
  #now(): number {
    this.#lastSentAt = Math.max(Date.now(), this.#lastSentAt);
    return this.#lastSentAt;
  }

  #stop(): void {
    this.#stopped = true;
    clearInterval(this.#clock);
    this.#clock = undefined;
    for (const connection of this.#connections.values()) connection.close(Close.goingAway);
  }
}

// Sockets reading their mailbox at once after a resync.
const RESYNCS_IN_FLIGHT = 256;
