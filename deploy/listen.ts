/**
 * A receiving socket for trying Huayi IM from a shell: connects to
 * `/api/ws?sid=…`, prints every frame as one JSON line on stdout, and keeps the
 * socket alive the way the protocol asks — a `ping` every 5 s and an `ack` for
 * every `pong` probe. General WebSocket tools (wscat, websocat) do neither, so
 * the server closes them with 4008 after `IM_CLIENT_TIMEOUT_MS` (60 s).
 *
 * Heartbeat frames (the server's probes and its acks of our pings) are not
 * printed unless `--heartbeats` is given, and never count towards `--count`.
 * Status lines (connected, why it stopped) go to stderr, so stdout holds
 * nothing but frames.
 *
 * Exit status: 0 after `--count` frames, `--seconds`, or Ctrl-C (SIGINT) /
 * SIGTERM; 1 when the handshake fails or the server closes the socket; 2 for a
 * bad command line.
 *
 * @example From a shell
 * ```sh ignore
 * deno task listen "http://127.0.0.1:8080/api/ws?sid=$SID" --count 2
 * ```
 *
 * @module
 */

/** What {@linkcode listen} does, from the command line. */
export interface ListenOptions {
  /** The socket's URL, `ws:`/`wss:` (an `http:`/`https:` one is converted). */
  url: string;
  /** Stop after this many frames other than heartbeats. */
  count?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /** Print heartbeat frames too. */
  heartbeats: boolean;
  /** How often to ping, in milliseconds (the protocol asks for 5 s). */
  pingMs: number;
}

/** Thrown for a command line that cannot be run; the message says why. */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override name = "UsageError";
}

/** The command line's synopsis, for `--help` and usage errors. */
export const USAGE: string =
  "usage: deno task listen <ws://host:port/api/ws?sid=SID> [--count N] [--seconds S] " +
  "[--heartbeats] [--ping-ms MS]";

const PING_MS = 5000;

/**
 * Reads the command line.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListenArgs } from "./listen.ts";
 * assert.deepEqual(parseListenArgs(["http://127.0.0.1:8080/api/ws?sid=abc", "--count", "2"]), {
 *   url: "ws://127.0.0.1:8080/api/ws?sid=abc",
 *   count: 2,
 *   seconds: undefined,
 *   heartbeats: false,
 *   pingMs: 5000,
 * });
 * ```
 *
 * @param args The arguments, without the program name.
 * @returns The options.
 * @throws {UsageError} For an unknown flag, a missing or malformed value, or no URL.
 */
export function parseListenArgs(args: readonly string[]): ListenOptions {
  let url: string | undefined;
  let count: number | undefined;
  let seconds: number | undefined;
  let heartbeats = false;
  let pingMs = PING_MS;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq !== -1 ? arg.slice(0, eq) : arg;
    const inline = name === arg ? undefined : arg.slice(eq + 1);
    const value = () => {
      const given = inline ?? args[++i];
      if (given === undefined) throw new UsageError(`${name} needs a value`);
      return given;
    };
    if (name === "--count") count = positive(name, value(), true);
    else if (name === "--seconds") seconds = positive(name, value(), false);
    else if (name === "--ping-ms") pingMs = positive(name, value(), true);
    else if (name === "--heartbeats" && inline === undefined) heartbeats = true;
    else if (name.startsWith("-") || url !== undefined) {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    } else url = toWebSocketUrl(arg);
  }
  if (url === undefined) throw new UsageError("the socket's URL is missing");
  return { url, count, seconds, heartbeats, pingMs };
}

function positive(name: string, text: string, whole: boolean): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0 || (whole && !Number.isInteger(n))) {
    throw new UsageError(`${name}: ${JSON.stringify(text)} is not a positive number`);
  }
  return n;
}

/**
 * The WebSocket URL for a URL given as `ws:`, `wss:`, `http:` or `https:`, so
 * the base URL of the HTTP API can be reused as it is.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { toWebSocketUrl } from "./listen.ts";
 * assert.equal(toWebSocketUrl("https://chat.example.com/api/ws?sid=x"), "wss://chat.example.com/api/ws?sid=x");
 * assert.equal(toWebSocketUrl("ws://127.0.0.1:8080/api/ws?sid=x"), "ws://127.0.0.1:8080/api/ws?sid=x");
 * ```
 *
 * @param text An absolute URL.
 * @returns The same URL with a WebSocket scheme.
 * @throws {UsageError} For anything else.
 */
export function toWebSocketUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${JSON.stringify(text)} is not a URL`);
  }
  const schemes: Record<string, string> = {
    "ws:": "ws:",
    "wss:": "wss:",
    "http:": "ws:",
    "https:": "wss:",
  };
  const scheme = schemes[url.protocol];
  if (!scheme) {
    throw new UsageError(`${JSON.stringify(text)} is not a ws:, wss:, http: or https: URL`);
  }
  return scheme + url.href.slice(url.protocol.length);
}

/** Why {@linkcode listen} stopped. */
export type StopReason = "count" | "seconds" | "signal" | "closed" | "failed";

/** What {@linkcode listen} reports when it stops. */
export interface ListenResult {
  /** The stop condition that ended it. */
  readonly reason: StopReason;
  /** Frames printed or not, heartbeats excluded. */
  readonly frames: number;
  /** The close code, when the server closed the socket (or 1006 when the connection broke). */
  readonly code?: number;
  /** The close reason, or the handshake's error. */
  readonly detail?: string;
}

/** Where {@linkcode listen} writes, and what stops it from outside. */
export interface ListenIo {
  /** One frame, one line. */
  out(line: string): void;
  /** One status line. */
  err(line: string): void;
  /** Aborting it closes the socket with 1000 and stops with reason `"signal"`. */
  signal?: AbortSignal;
}

/**
 * Connects, prints frames and keeps the heartbeats going until one of the
 * stop conditions; every timer is cleared and the socket closed before it
 * resolves.
 *
 * @example Usage
 * ```ts ignore
 * import { listen, parseListenArgs } from "./listen.ts";
 * const result = await listen(parseListenArgs([`ws://127.0.0.1:8080/api/ws?sid=${sid}`, "--count", "1"]), {
 *   out: (line) => console.log(line),
 *   err: (line) => console.error(line),
 * });
 * console.error(result.reason); // "count"
 * ```
 *
 * @param options What to connect to and when to stop.
 * @param io Where to print, and an optional abort signal.
 * @returns Why it stopped and how many frames came.
 */
export function listen(options: ListenOptions, io: ListenIo): Promise<ListenResult> {
  return new Promise((resolve) => {
    // The sid is a credential: status lines name the socket without it.
    const shown = new URL(options.url);
    shown.search = "";
    const socket = new WebSocket(options.url);
    let frames = 0;
    let pings = 0;
    let opened = false;
    let result: ListenResult | undefined;
    let pinger: ReturnType<typeof setInterval> | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;

    // Settles once: the first stop condition wins, later events are ignored.
    const stop = (outcome: ListenResult, close: boolean) => {
      if (result) return;
      result = outcome;
      clearInterval(pinger);
      clearTimeout(deadline);
      io.signal?.removeEventListener("abort", onAbort);
      if (close && socket.readyState <= WebSocket.OPEN) {
        socket.close(1000, "done");
      } else if (socket.readyState === WebSocket.CLOSED) {
        resolve(outcome);
      }
    };
    const onAbort = () => stop({ reason: "signal", frames }, true);
    io.signal?.addEventListener("abort", onAbort);
    if (io.signal?.aborted) onAbort();
    if (options.seconds !== undefined) {
      deadline = setTimeout(
        () => stop({ reason: "seconds", frames }, true),
        options.seconds * 1000,
      );
    }

    const ping = () => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ "message-type": "ping", "message-id": ++pings }));
    };
    socket.onopen = () => {
      opened = true;
      if (result) return socket.close(1000, "done");
      io.err(`listen: connected to ${shown.href}; frames follow, one JSON line each`);
      // A ping at once, then every pingMs: the first one tells the server we are alive.
      ping();
      pinger = setInterval(ping, options.pingMs);
    };
    socket.onmessage = (event) => {
      if (result) return;
      if (typeof event.data !== "string") {
        io.err(`listen: ignored a binary frame`);
        return;
      }
      let frame: Record<string, unknown> | undefined;
      try {
        frame = JSON.parse(event.data);
      } catch {
        // Not JSON: still one line, as a JSON string.
      }
      const type = frame?.["message-type"];
      const heartbeat = type === "pong" || type === "ack";
      if (type === "pong") {
        socket.send(JSON.stringify({ "message-type": "ack", "ack-id": frame!["message-id"] }));
      }
      if (heartbeat && !options.heartbeats) return;
      io.out(frame === undefined ? JSON.stringify(event.data) : JSON.stringify(frame));
      if (heartbeat) return;
      frames++;
      if (options.count !== undefined && frames >= options.count) {
        stop({ reason: "count", frames }, true);
      }
    };
    let failure: string | undefined;
    socket.onerror = (event) => {
      failure = (event as ErrorEvent).message || "connection error";
    };
    socket.onclose = (event) => {
      clearInterval(pinger);
      if (!result) {
        if (!opened) {
          stop({ reason: "failed", frames, detail: failure ?? `closed with ${event.code}` }, false);
        } else {
          stop({ reason: "closed", frames, code: event.code, detail: event.reason }, false);
        }
      }
      report(result!, options, io);
      resolve(result!);
    };
  });
}

function report(result: ListenResult, options: ListenOptions, io: ListenIo): void {
  const frames = `${result.frames} frame${result.frames === 1 ? "" : "s"}`;
  switch (result.reason) {
    case "count":
      return io.err(`listen: done after ${frames}`);
    case "seconds":
      return io.err(`listen: done after ${options.seconds} s, ${frames}`);
    case "signal":
      return io.err(`listen: stopped, ${frames}`);
    case "closed":
      return io.err(
        `listen: the server closed the socket: ${result.code} ${result.detail || ""}`.trimEnd(),
      );
    case "failed":
      return io.err(`listen: could not connect: ${result.detail}`);
  }
}

if (import.meta.main) {
  let options: ListenOptions;
  try {
    if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
      console.log(USAGE);
      Deno.exit(0);
    }
    options = parseListenArgs(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`listen: ${error.message}\n${USAGE}`);
    Deno.exit(2);
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const result = await listen(options, {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    signal: controller.signal,
  });
  Deno.exit(result.reason === "closed" || result.reason === "failed" ? 1 : 0);
}
