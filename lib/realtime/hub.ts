/**
 * The hub: users, sessions, topics and live connections, and the routing of
 * every message to a socket or to the offline store.
 *
 * Routing is synchronous: a message is queued for every recipient within the
 * one event-loop turn that accepts it, so messages are ordered by acceptance
 * (per sender and per topic), and no recipient waits for another. A slow
 * socket only ever fills its own bounded outbox and then the store.
 *
 * @module
 */

import { Close, type CloseReason } from "../protocol/close_codes.ts";
import { Connection, type ConnectionOptions, type Delivery } from "./connection.ts";
import { Failure } from "../protocol/errors.ts";
import { directMessageEncoder, systemNotice, topicMessage } from "../protocol/frames.ts";
import type { Logger } from "../telemetry/log.ts";
import type { OfflineStore } from "../store/offline_store.ts";
import { type Session, SessionRegistry } from "../core/sessions.ts";
import { TopicRegistry } from "../core/topics.ts";

/** What the hub needs from the configuration. */
export interface HubOptions extends ConnectionOptions {
  slowConsumerMs: number;
  offlineTtlMs: number;
}

/** Counters of everything the hub holds, for leak checks and monitoring. */
export interface HubStats {
  users: number;
  sessions: number;
  online: number;
  topics: number;
  offlineMessages: number;
  offlineRecipients: number;
  outboxFrames: number;
  /** Timers the server holds: the hub's clock plus writers polling a full socket. */
  timers: number;
}

/**
 * The routing core.
 *
 * @example Usage
 * ```ts ignore
 * const hub = new Hub(options, new MemoryOfflineStore(options.offlineTtlMs), stderrLogger());
 * hub.start(controller.signal);
 * const harry = hub.login("Harry");
 * hub.sendDirect("Harry", ["Ron"], "Are you OK ?"); // stored: Ron is offline
 * ```
 */
export class Hub {
  readonly #options: HubOptions;
  readonly #store: OfflineStore;
  readonly #log: Logger;
  readonly #sessions = new SessionRegistry();
  readonly #topics = new TopicRegistry();
  readonly #users = new Set<string>();
  readonly #connections = new Map<string, Connection>();
  #clock: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  /**
   * @param options Timings and limits.
   * @param store Where frames wait for users who cannot take them now.
   * @param log Where events go.
   */
  constructor(options: HubOptions, store: OfflineStore, log: Logger) {
    this.#options = options;
    this.#store = store;
    this.#log = log;
  }

  /**
   * Starts the clock that runs heartbeats, the slow-consumer rule and
   * offline expiry; aborting `signal` closes every socket with 1001 and stops it.
   */
  start(signal: AbortSignal): void {
    if (signal.aborted) return this.#stop();
    const { clientTimeoutMs, probeIntervalMs, slowConsumerMs, offlineTtlMs } = this.#options;
    const tickMs = Math.max(
      5,
      Math.min(1000, Math.min(clientTimeoutMs, probeIntervalMs, slowConsumerMs, offlineTtlMs) / 4),
    );
    this.#clock = setInterval(() => this.#tick(Date.now()), tickMs);
    signal.addEventListener("abort", () => this.#stop(), { once: true });
  }

  // ---- sessions ----

  /** Opens a session for `username`; their previous one dies (socket closed with 4001). */
  login(username: string): Session {
    const { session, replaced } = this.#sessions.open(username, Date.now());
    this.#users.add(username);
    if (replaced) {
      this.#connections.get(username)?.close(Close.sessionReplaced);
    }
    this.#log("login", { user: username, replaced: replaced !== undefined });
    return session;
  }

  /** Ends `session`; its socket closes with 4000. */
  logout(session: Session): void {
    this.#sessions.close(session);
    const connection = this.#connections.get(session.username);
    if (connection?.session === session) connection.close(Close.loggedOut);
    this.#log("logout", { user: session.username });
  }

  /** The live session for `sid`, marked as having shown a sign of life. */
  authenticate(sid: string): Session | undefined {
    const session = this.#sessions.bySid(sid);
    if (session) session.lastSeen = Date.now();
    return session;
  }

  /**
   * Makes `socket` (just opened) the live socket of `session`, replacing any
   * previous one (4001), and starts delivering to it, offline backlog first.
   */
  attach(session: Session, socket: WebSocket): void {
    if (this.#stopped) return closeSocket(socket, Close.goingAway);
    if (!this.#sessions.isLive(session)) {
      const replaced = this.#sessions.byUser(session.username) !== undefined;
      return replaced
        ? closeSocket(socket, Close.sessionReplaced)
        : closeSocket(socket, Close.loggedOut);
    }
    this.#connections.get(session.username)?.close(Close.sessionReplaced);
    session.lastSeen = Date.now();
    // Read before start(): the connection begins by taking the backlog.
    const backlog = this.#store.has(session.username);
    const connection = new Connection(session, socket, this.#store, this.#options, this.#onClosed);
    this.#connections.set(session.username, connection);
    connection.start();
    this.#log("connect", { user: session.username, backlog });
  }

  #onClosed = (connection: Connection, why: CloseReason): void => {
    if (this.#connections.get(connection.username) === connection) {
      this.#connections.delete(connection.username);
    }
    const event = why === Close.slowConsumer ? "slow-consumer" : "disconnect";
    this.#log(event, { user: connection.username, code: why.code, reason: why.reason });
  };

  // ---- presence ----

  /** Users who ever logged in, in that order; `onlineOnly` keeps those with a live socket. */
  users(onlineOnly: boolean): string[] {
    const all = [...this.#users];
    return onlineOnly ? all.filter((user) => this.#connections.has(user)) : all;
  }

  // ---- topics ----

  /** Topic names, oldest first. */
  topics(): string[] {
    return this.#topics.names();
  }

  /** Creates `topic`; the creator joins it. Throws `conflict` if it exists. */
  createTopic(topic: string, creator: string): void {
    this.#topics.create(topic, creator);
  }

  /** Adds `user` to `topic`. Throws `not_found`. */
  joinTopic(topic: string, user: string): void {
    this.#topics.join(topic, user);
  }

  /** Removes `user` from `topic`. Throws `not_found`. */
  quitTopic(topic: string, user: string): void {
    this.#topics.quit(topic, user);
  }

  /**
   * Deletes `topic`: every undelivered message of it is dropped (stored or
   * queued), and every member is told with `__topic_is_deleted__`. Throws `not_found`.
   */
  deleteTopic(topic: string, by: string): void {
    const members = this.#topics.delete(topic);
    const purged = this.#store.purgeTopic(topic);
    for (const connection of this.#connections.values()) connection.purgeTopic(topic);
    const notice: Delivery = {
      frame: systemNotice("__topic_is_deleted__", topic),
      sentAt: Date.now(),
    };
    for (const member of members) this.#deliver(member, notice);
    this.#log("topic-deleted", { topic, by, members: members.size, purged });
  }

  // ---- messages ----

  /** Sends `content` from `from` to each user of `to` separately. */
  sendDirect(from: string, to: readonly string[], content: string): void {
    const encode = directMessageEncoder(from, content);
    const sentAt = Date.now();
    for (const user of new Set(to)) this.#deliver(user, { frame: encode(user), sentAt });
  }

  /**
   * Sends `content` to every member of `topic` but the sender; the sender and
   * the mentioned users join it first. For an unknown topic the sender's
   * socket gets `__topic_not_found__` and `not_found` is thrown.
   */
  sendToTopic(from: string, topic: string, mentions: readonly string[], content: string): void {
    if (!this.#topics.has(topic)) {
      this.#connections.get(from)?.notify(systemNotice("__topic_not_found__", topic));
      throw new Failure("not_found", `topic ${topic} does not exist`);
    }
    this.#topics.join(topic, from, ...mentions);
    const delivery: Delivery = {
      frame: topicMessage(from, mentions, topic, content),
      sentAt: Date.now(),
      topic,
    };
    for (const member of this.#topics.members(topic)) {
      if (member !== from) this.#deliver(member, delivery);
    }
  }

  #deliver(user: string, delivery: Delivery): void {
    const connection = this.#connections.get(user);
    if (connection) connection.deliver(delivery);
    else this.#store.push(user, delivery);
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
    return {
      users: this.#users.size,
      sessions: this.#sessions.size,
      online: this.#connections.size,
      topics: this.#topics.size,
      offlineMessages: this.#store.size,
      offlineRecipients: this.#store.recipients,
      outboxFrames,
      timers: (this.#clock === undefined ? 0 : 1) + waiting,
    };
  }

  #tick(now: number): void {
    const { slowConsumerMs } = this.#options;
    for (const connection of this.#connections.values()) {
      const fullSince = connection.fullSince;
      if (fullSince !== 0 && now - fullSince > slowConsumerMs) {
        connection.close(Close.slowConsumer);
        continue;
      }
      const verdict = connection.heartbeat.check(now, connection.session.lastSeen);
      if (verdict.action === "probe") connection.probe(verdict.id);
      else if (verdict.action === "close") {
        connection.close(Close.heartbeatTimeout);
      }
    }
    this.#store.sweep();
  }

  #stop(): void {
    this.#stopped = true;
    clearInterval(this.#clock);
    this.#clock = undefined;
    for (const connection of this.#connections.values()) {
      connection.close(Close.goingAway);
    }
  }
}

function closeSocket(socket: WebSocket, why: CloseReason): void {
  socket.close(why.code, why.reason);
}
