/**
 * Small test clients for the contract: JSON over `fetch`, and a WebSocket
 * that queues incoming frames so a test can wait for the next one.
 *
 * @module
 */

import type { TestServer } from "./harness.ts";

/** A parsed JSON frame or body. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** What `api` returns. */
export interface ApiResult {
  status: number;
  body: Json;
  headers: Headers;
}

/** Options of {@linkcode api}. */
export interface ApiOptions {
  sid?: string;
  /** Sent as JSON with `Content-Type: application/json` unless `raw` is given. */
  body?: unknown;
  /** A body sent as is. */
  raw?: BodyInit;
  headers?: Record<string, string>;
}

/**
 * Which node of `server` a call goes to: one node unless the harness runs
 * a cluster; then each user's calls go to one node, chosen by the sid (or
 * the name logging in), and their socket by another hash, so a test's users
 * and their two channels spread over the nodes.
 */
export function nodeFor(server: TestServer, key: string): string {
  if (server.urls.length === 1) return server.url;
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return server.urls[hash % server.urls.length];
}

/** Calls the API and parses the JSON answer (every `/api/` answer is JSON). */
export async function api(
  server: TestServer,
  method: string,
  path: string,
  options: ApiOptions = {},
): Promise<ApiResult> {
  const headers = new Headers(options.headers);
  if (options.sid) headers.set("authorization", `Bearer ${options.sid}`);
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const name = (options.body as { username?: unknown } | undefined)?.username;
  const key = options.sid ?? (typeof name === "string" ? name : path);
  const response = await fetch(nodeFor(server, key) + path, { method, headers, body });
  const text = await response.text();
  let parsed: Json = text;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    // Not JSON: the test will say so.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Logs `username` in and returns the sid. */
export async function login(server: TestServer, username: string): Promise<string> {
  const result = await api(server, "POST", "/api/login", { body: { username } });
  if (result.status !== 200) {
    throw new Error(`login ${username}: ${result.status} ${JSON.stringify(result.body)}`);
  }
  return result.body.sid;
}

/** Sends a one-to-one message and returns the status. */
export async function sendDirect(
  server: TestServer,
  sid: string,
  from: string,
  to: string[],
  content: string,
) {
  return await api(server, "POST", "/api/messages", {
    sid,
    body: { "message-type": "message", from, to, "content-type": "text/plain", content },
  });
}

/** Sends a topic message and returns the status. */
export async function sendTopic(
  server: TestServer,
  sid: string,
  from: string,
  topic: string,
  content: string,
  mentions: string[] = [],
) {
  return await api(server, "POST", "/api/messages", {
    sid,
    body: {
      "message-type": "message",
      from,
      to: mentions,
      topic,
      "content-type": "text/plain",
      content,
    },
  });
}

/** How {@linkcode TestSocket.open} opens the socket. */
export interface OpenOptions {
  /** Resume from this seq (`?since=`): a v2 socket, whose frames keep `seq`, `id` and `sent-at`. */
  since?: number | string;
}

const V2_FIELDS = ["seq", "id", "sent-at"] as const;

/**
 * A WebSocket whose frames queue up until a test takes them.
 *
 * A v1 socket (no `since`) hands frames to the test as a v1 client sees
 * them: without the v2 fields `seq`, `id` and `sent-at`, which it checks on
 * the way (present and well-typed on mailbox entries, seqs rising, absent
 * on transient frames). So the v1 suite's expectations are v1's own.
 */
export class TestSocket {
  readonly socket: WebSocket;
  /** Every frame as received, v2 fields included. */
  readonly raw: Json[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;
  readonly #frames: Json[] = [];
  #wake: (() => void) | undefined;
  /** Answer the server's pong probes with acks (on by default). */
  answerProbes = true;
  /** Probes answered so far. */
  probesAnswered = 0;

  readonly #v2: boolean;
  #lastSeq = 0;

  private constructor(url: string, v2: boolean) {
    this.#v2 = v2;
    this.socket = new WebSocket(url);
    const opened = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<CloseEvent>();
    this.opened = opened.promise;
    this.closed = closed.promise;
    this.socket.onopen = () => opened.resolve();
    this.socket.onerror = () => opened.reject(new Error("socket failed to open"));
    this.socket.onclose = (event) => {
      opened.reject(new Error(`socket closed before open: ${event.code}`));
      closed.resolve(event);
      this.#wake?.();
    };
    this.opened.catch(() => {});
    this.socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame["message-type"] === "pong" && this.answerProbes) {
        this.send({ "message-type": "ack", "ack-id": frame["message-id"] });
        this.probesAnswered++;
        return;
      }
      this.raw.push(frame);
      this.#frames.push(this.#v2 ? frame : this.#asV1(frame));
      this.#wake?.();
    };
  }

  /** Opens `/api/ws?sid=...` (and `&since=` if given) and waits until it is open. */
  static async open(
    server: TestServer,
    sid: string,
    options: OpenOptions = {},
  ): Promise<TestSocket> {
    const base = nodeFor(server, `${sid}#ws`).replace(/^http/, "ws");
    let url = `${base}/api/ws?sid=${encodeURIComponent(sid)}`;
    if (options.since !== undefined) url += `&since=${options.since}`;
    const socket = new TestSocket(url, options.since !== undefined);
    await socket.opened;
    return socket;
  }

  // Checks the v2 fields of a frame and returns it without them.
  #asV1(frame: Json): Json {
    const entry = frame["message-type"] === "message" ||
      (frame["message-type"] === "system" && frame.topic === "__topic_is_deleted__");
    if (entry) {
      const { seq, id } = frame;
      const sentAt = frame["sent-at"];
      if (
        !Number.isInteger(seq) || seq <= this.#lastSeq || typeof id !== "string" ||
        !Number.isInteger(sentAt)
      ) {
        throw new Error(`bad v2 fields after seq ${this.#lastSeq}: ${JSON.stringify(frame)}`);
      }
      this.#lastSeq = seq;
    } else if (V2_FIELDS.some((field) => field in frame)) {
      throw new Error(`a transient frame with v2 fields: ${JSON.stringify(frame)}`);
    }
    const v1 = { ...frame };
    for (const field of V2_FIELDS) delete v1[field];
    return v1;
  }

  /** Sends a frame (objects are JSON-encoded). */
  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Frames received and not yet taken. */
  get pending(): readonly Json[] {
    return this.#frames;
  }

  /** Takes the next frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) {
      if (this.socket.readyState === WebSocket.CLOSED) {
        throw new Error("socket closed while waiting for a frame");
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await this.#waitForFrame(left);
    }
    return this.#frames.shift();
  }

  /** Takes `count` frames. */
  async take(count: number, timeoutMs = 5000): Promise<Json[]> {
    const deadline = Date.now() + timeoutMs;
    const frames = [];
    for (let i = 0; i < count; i++) {
      frames.push(await this.next(Math.max(1, deadline - Date.now())));
    }
    return frames;
  }

  /** Closes the socket and waits for the close to finish. */
  async close(): Promise<CloseEvent> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    return await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #waitForFrame(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ms);
    this.#wake = () => {
      clearTimeout(timer);
      resolve();
    };
    return promise;
  }
}

const sentinelSenders = new WeakMap<TestServer, Promise<string>>();
let sentinels = 0;

/**
 * Proves that nothing else is on its way to `user`'s socket: sends `user` a
 * sentinel message and expects it to be the very next frame. The server keeps
 * each user's frames in the order it accepted them, so anything sent before
 * the sentinel would arrive first; no waiting in silence.
 */
export async function expectSentinel(
  server: TestServer,
  socket: TestSocket,
  user: string,
  what = "nothing arrived before the sentinel",
): Promise<void> {
  let sender = sentinelSenders.get(server);
  if (!sender) sentinelSenders.set(server, sender = login(server, "Sentinel"));
  const content = `sentinel-${++sentinels}`;
  const sent = await sendDirect(server, await sender, "Sentinel", [user], content);
  if (sent.status !== 200) throw new Error(`sentinel to ${user}: ${sent.status}`);
  const frame = await socket.next();
  if (frame.content !== content) {
    throw new Error(`${what}: got ${JSON.stringify(frame).slice(0, 200)} before the sentinel`);
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 3000,
  what = "condition",
): Promise<Exclude<T, undefined | null | false | 0 | "">> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value) return value as Exclude<T, undefined | null | false | 0 | "">;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
