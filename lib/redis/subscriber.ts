/**
 * Pub/sub on a connection of its own: in RESP2 a subscribed connection may
 * send nothing but (un)subscriptions, and in RESP3 confirmations and
 * messages arrive as pushes, so neither mixes with a command pipeline.
 *
 * @module
 */

import { RedisConnection, type RedisConnectionOptions } from "./connection.ts";
import {
  RedisConnectionError,
  RedisError,
  RedisProtocolError,
  RedisTimeoutError,
} from "./errors.ts";
import { Fifo } from "../util/fifo.ts";
import { encodeCommand, RedisPush, type RedisReply, type RespParser } from "./resp.ts";

/** Receives a message published on a subscribed channel. */
export type MessageHandler = (message: string, channel: string) => void;

/** Receives a message published on a channel matching a subscribed pattern. */
export type PatternHandler = (message: string, channel: string, pattern: string) => void;

/** Options of {@linkcode RedisSubscriber.connect}. */
export interface RedisSubscriberOptions extends RedisConnectionOptions {
  /** Deadline for a subscription's confirmation. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * How often to PING. An idle subscriber would otherwise never notice a
   * connection that died without a FIN or RST (a vanished host, a NAT that
   * forgot it) and would miss every message; with no PONG by the next ping
   * the connection is reset. Default 15,000 ms; 0 disables.
   */
  pingIntervalMs?: number;
  /**
   * Called after a reconnect, once every subscription is confirmed again.
   * Messages published while disconnected are lost, so this is the moment
   * to re-read whatever they would have announced.
   */
  onReconnect?(): void;
  /** The connection dropped, an attempt failed, a handler threw, or a subscription was refused. */
  onError?(error: unknown): void;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

interface Subscription {
  pattern: boolean;
  name: string;
  handlers: Set<MessageHandler | PatternHandler>;
  /** Confirmed on the current connection. */
  active: boolean;
  waiters: Set<Waiter>;
}

/** A (un)subscription sent and not yet confirmed; confirmations come in order. */
interface Sent {
  kind: string;
  name: string;
  subscription: Subscription | undefined;
  resubscribe: boolean;
}

const CONFIRMATIONS = new Set(["subscribe", "unsubscribe", "psubscribe", "punsubscribe", "pong"]);

/**
 * A pub/sub subscriber that resubscribes after a reconnect.
 *
 * @example Usage
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { RedisSubscriber } from "./subscriber.ts";
 * import { RedisClient } from "./client.ts";
 *
 * const url = "redis://127.0.0.1:6379";
 * await using subscriber = await RedisSubscriber.connect(url, { protocol: 3 });
 * await using publisher = await RedisClient.connect(url);
 * const received = Promise.withResolvers<string>();
 * await subscriber.subscribe("news", (message) => received.resolve(message));
 * await publisher.command(["PUBLISH", "news", "hello"]);
 * assert.equal(await received.promise, "hello");
 * ```
 */
export class RedisSubscriber implements AsyncDisposable {
  #connection!: RedisConnection;
  #options: RedisSubscriberOptions;
  #channels = new Map<string, Subscription>();
  #patterns = new Map<string, Subscription>();
  #sent = new Fifo<Sent>();
  #resubscribing = 0;
  #awaitingPong = false;
  #pinger: ReturnType<typeof setInterval> | undefined;

  private constructor(options: RedisSubscriberOptions) {
    this.#options = options;
  }

  /**
   * Connects to `url`, as `RedisClient.connect` does.
   *
   * @throws {RedisConnectionError} When the first connection fails.
   * @throws {RedisError} When the server refuses the handshake.
   */
  static async connect(
    url: string | URL,
    options: RedisSubscriberOptions = {},
  ): Promise<RedisSubscriber> {
    const subscriber = new RedisSubscriber(options);
    subscriber.#connection = await RedisConnection.open(url, options, {
      onReadable: (parser) => subscriber.#onReadable(parser),
      onOpen: (reconnected) => subscriber.#onOpen(reconnected),
      onDrop: () => subscriber.#onDrop(),
      onError: (error) => subscriber.#report(error),
      onClose: () => subscriber.#onClose(),
    });
    const interval = options.pingIntervalMs ?? 15_000;
    if (interval > 0) subscriber.#pinger = setInterval(() => subscriber.#ping(interval), interval);
    return subscriber;
  }

  /** Whether the connection is up. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /** Resolves once connected; see {@linkcode RedisConnection.whenConnected}. */
  whenConnected(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#connection.whenConnected(options);
  }

  /**
   * Adds `handler` for messages on `channel`, subscribing if it is the
   * channel's first. Resolves once the server has confirmed the
   * subscription — after a reconnect if the connection is down.
   *
   * @throws {RedisTimeoutError} When no confirmation came in time; the
   * subscription stays registered and is retried on the next connection.
   * @throws {RedisError} When the server refuses it (e.g. an ACL).
   */
  subscribe(channel: string, handler: MessageHandler): Promise<void> {
    return this.#add(this.#channels, false, channel, handler);
  }

  /**
   * Removes `handler` (or every handler) from `channel`, unsubscribing when
   * none is left. Messages stop at once, before the server confirms.
   */
  unsubscribe(channel: string, handler?: MessageHandler): void {
    this.#remove(this.#channels, false, channel, handler);
  }

  /** As {@linkcode RedisSubscriber.subscribe}, for a glob-style pattern (PSUBSCRIBE). */
  psubscribe(pattern: string, handler: PatternHandler): Promise<void> {
    return this.#add(this.#patterns, true, pattern, handler);
  }

  /** As {@linkcode RedisSubscriber.unsubscribe}, for a pattern (PUNSUBSCRIBE). */
  punsubscribe(pattern: string, handler?: PatternHandler): void {
    this.#remove(this.#patterns, true, pattern, handler);
  }

  /** Closes the connection; pending subscriptions reject. */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  /** Closes the subscriber. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #add(
    map: Map<string, Subscription>,
    pattern: boolean,
    name: string,
    handler: MessageHandler | PatternHandler,
  ): Promise<void> {
    if (this.#connection.closed) return Promise.reject(closedError());
    let subscription = map.get(name);
    if (subscription === undefined) {
      subscription = { pattern, name, handlers: new Set(), active: false, waiters: new Set() };
      map.set(name, subscription);
      if (this.#connection.connected) {
        this.#send(pattern ? "psubscribe" : "subscribe", [subscription]);
      }
    }
    subscription.handlers.add(handler);
    if (subscription.active) return Promise.resolve();
    return this.#wait(subscription);
  }

  #remove(
    map: Map<string, Subscription>,
    pattern: boolean,
    name: string,
    handler: MessageHandler | PatternHandler | undefined,
  ): void {
    const subscription = map.get(name);
    if (subscription === undefined) return;
    if (handler === undefined) subscription.handlers.clear();
    else subscription.handlers.delete(handler);
    if (subscription.handlers.size > 0) return;
    map.delete(name);
    // Whoever waited for it asked for a subscription that is now undone.
    for (const waiter of [...subscription.waiters]) waiter.resolve();
    if (this.#connection.connected) {
      this.#connection.write(encodeCommand([pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name]));
      const kind = pattern ? "punsubscribe" : "unsubscribe";
      this.#sent.push({ kind, name, subscription: undefined, resubscribe: false });
    }
  }

  #wait(subscription: Subscription): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timeoutMs = this.#options.timeoutMs ?? 5000;
    const settle = (then: () => void) => {
      clearTimeout(timer);
      subscription.waiters.delete(waiter);
      then();
    };
    const waiter: Waiter = {
      resolve: () => settle(resolve),
      reject: (error) => settle(() => reject(error)),
    };
    const timer = setTimeout(() => {
      const command = subscription.pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
      const sent = this.#connection.connected;
      waiter.reject(new RedisTimeoutError(command, timeoutMs, sent));
      if (sent) {
        this.#connection.reset(
          new RedisConnectionError(`connection reset: ${command} missed its deadline`, {
            sent: true,
          }),
        );
      }
    }, timeoutMs);
    subscription.waiters.add(waiter);
    return promise;
  }

  #send(kind: "subscribe" | "psubscribe", subscriptions: Subscription[], resubscribe = false) {
    if (subscriptions.length === 0) return;
    const names = subscriptions.map((subscription) => subscription.name);
    this.#connection.write(encodeCommand([kind.toUpperCase(), ...names]));
    for (const subscription of subscriptions) {
      this.#sent.push({ kind, name: subscription.name, subscription, resubscribe });
    }
  }

  #onOpen(reconnected: boolean): void {
    const channels = [...this.#channels.values()];
    const patterns = [...this.#patterns.values()];
    this.#resubscribing = channels.length + patterns.length;
    this.#send("subscribe", channels, true);
    this.#send("psubscribe", patterns, true);
    if (reconnected && this.#resubscribing === 0) this.#reconnected();
  }

  #onDrop(): void {
    this.#sent.clear();
    this.#resubscribing = 0;
    this.#awaitingPong = false;
    for (const subscription of this.#channels.values()) subscription.active = false;
    for (const subscription of this.#patterns.values()) subscription.active = false;
  }

  #onClose(): void {
    clearInterval(this.#pinger);
    for (const map of [this.#channels, this.#patterns]) {
      for (const subscription of map.values()) {
        for (const waiter of [...subscription.waiters]) waiter.reject(closedError());
      }
    }
  }

  #onReadable(parser: RespParser): void {
    for (let reply = parser.next(); reply !== undefined; reply = parser.next()) {
      if (reply instanceof RedisError) this.#refused(reply);
      else if (reply instanceof RedisPush) this.#frame(reply.data, true);
      // PING's answer outside RESP2's subscribed mode.
      else if (reply === "PONG") this.#confirmed("pong", "");
      else this.#frame(reply, false);
    }
  }

  /** A message or a confirmation: a RESP3 push, or in RESP2 an array reply. */
  #frame(reply: RedisReply, push: boolean): void {
    if (!Array.isArray(reply)) throw new RedisProtocolError("a subscriber got a non-pub/sub reply");
    const kind = reply[0];
    if (kind === "message") {
      this.#deliver(this.#channels.get(reply[1] as string), reply[2], reply[1]);
    } else if (kind === "pmessage") {
      this.#deliver(this.#patterns.get(reply[1] as string), reply[3], reply[2], reply[1]);
    } else if (typeof kind === "string" && CONFIRMATIONS.has(kind)) {
      this.#confirmed(kind, reply[1] as string);
    } else if (!push) {
      // Other pushes (e.g. tracking invalidations) are not ours to handle.
      throw new RedisProtocolError(`a subscriber got an unexpected ${String(kind)} reply`);
    }
  }

  #deliver(subscription: Subscription | undefined, ...args: RedisReply[]): void {
    if (subscription === undefined) return;
    for (const handler of subscription.handlers) {
      try {
        (handler as (...args: RedisReply[]) => void)(...args);
      } catch (error) {
        this.#report(error);
      }
    }
  }

  #confirmed(kind: string, name: string): void {
    const sent = this.#sent.shift();
    if (sent === undefined || sent.kind !== kind || sent.name !== name) {
      throw new RedisProtocolError(`unexpected ${kind} confirmation for ${name}`);
    }
    const subscription = sent.subscription;
    const map = subscription?.pattern ? this.#patterns : this.#channels;
    // A subscription undone and redone since this was sent awaits its own confirmation.
    if (subscription !== undefined && map.get(name) === subscription) {
      subscription.active = true;
      for (const waiter of [...subscription.waiters]) waiter.resolve();
    }
    if (sent.kind === "pong") this.#awaitingPong = false;
    if (sent.resubscribe && --this.#resubscribing === 0) this.#reconnected();
  }

  #ping(interval: number): void {
    if (!this.#connection.connected) return;
    if (this.#awaitingPong) {
      const reason = `no PONG within ${interval} ms`;
      this.#connection.reset(new RedisConnectionError(reason, { sent: true }));
      return;
    }
    this.#awaitingPong = true;
    this.#connection.write(encodeCommand(["PING"]));
    this.#sent.push({ kind: "pong", name: "", subscription: undefined, resubscribe: false });
  }

  #refused(error: RedisError): void {
    const sent = this.#sent.shift();
    if (sent === undefined) {
      throw new RedisProtocolError(`unexpected error reply: ${error.message}`);
    }
    this.#report(error);
    const subscription = sent.subscription;
    if (subscription !== undefined) {
      const map = subscription.pattern ? this.#patterns : this.#channels;
      if (map.get(sent.name) === subscription) map.delete(sent.name);
      for (const waiter of [...subscription.waiters]) waiter.reject(error);
    }
    if (sent.resubscribe && --this.#resubscribing === 0) this.#reconnected();
  }

  #reconnected(): void {
    try {
      this.#options.onReconnect?.();
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    try {
      this.#options.onError?.(error);
    } catch {
      // A failing error hook has nowhere left to report to.
    }
  }
}

function closedError(): RedisConnectionError {
  return new RedisConnectionError("the Redis subscriber is closed", { sent: false });
}
