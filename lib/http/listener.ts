/**
 * `Deno.serve`, kept alive: when accepting a connection fails — out of file
 * descriptors (EMFILE) is the one seen here — `Deno.serve` stops listening
 * and its `finished` promise rejects, while the connections it already has
 * (WebSockets included) keep working. The listener logs that once, and
 * listens again on the same address as soon as the system lets it, so the
 * process never exits because of it and serves again by itself.
 *
 * @module
 */

import type { Logger } from "../telemetry/log.ts";

/** Where and how to listen. */
export interface ListenOptions {
  hostname: string;
  /** `0` picks a free port; restarts reuse the port picked. */
  port: number;
  /** Aborting it stops listening for good. */
  signal: AbortSignal;
  log: Logger;
  /**
   * Answers each request; `address()` is the client's IP address. A function
   * because asking the runtime costs a call most requests never need.
   */
  handler: (request: Request, address: () => string) => Response | Promise<Response>;
  /** Answers when the handler throws (it should not). */
  onError: (error: unknown) => Response | Promise<Response>;
}

/** A listening server. */
export interface Listener {
  readonly hostname: string;
  readonly port: number;
  /** Settles once the signal was aborted and the server has stopped. */
  readonly finished: Promise<void>;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;
// One line per burst of failures, not one per failure.
const LOG_EVERY_MS = 10_000;

/**
 * Listens until `signal` is aborted, whatever accepting throws meanwhile.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { listen } from "./listener.ts";
 * import { silentLogger } from "../telemetry/log.ts";
 * const controller = new AbortController();
 * const listener = listen({
 *   hostname: "127.0.0.1", port: 0, signal: controller.signal, log: silentLogger,
 *   handler: (_request, address) => new Response(address()),
 *   onError: () => new Response("oops", { status: 500 }),
 * });
 * const response = await fetch(`http://127.0.0.1:${listener.port}/`);
 * assert.equal(await response.text(), "127.0.0.1");
 * controller.abort();
 * await listener.finished;
 * ```
 *
 * @throws {Deno.errors.AddrInUse} When the address is taken at the start
 * (also other errors of the first bind: a start-up error, not a runtime one).
 */
export function listen(options: ListenOptions): Listener {
  const { signal, log } = options;
  const start = (port: number) =>
    Deno.serve({
      hostname: options.hostname,
      port,
      signal,
      onListen: () => {},
      onError: options.onError,
    }, (request, info) => options.handler(request, () => info.remoteAddr.hostname));
  const first = start(options.port);
  const { hostname, port } = first.addr;
  const finished = (async () => {
    let server = first;
    let loggedAt = -Infinity;
    let failures = 0;
    while (true) {
      try {
        await server.finished;
        return;
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        if (Date.now() - loggedAt >= LOG_EVERY_MS) {
          log(
            "accept-failed",
            { error: String(error), failures, action: "listening again" },
            "warn",
          );
          loggedAt = Date.now();
          failures = 0;
        }
      }
      const again = await restart(() => start(port), signal);
      if (!again) return;
      server = again;
      log("listen", { again: true, port });
    }
  })();
  return { hostname, port, finished };
}

// Binds again with backoff; binding needs a descriptor too, so it may have to
// wait for one to be freed.
async function restart(
  start: () => Deno.HttpServer<Deno.NetAddr>,
  signal: AbortSignal,
): Promise<Deno.HttpServer<Deno.NetAddr> | undefined> {
  let pause = RETRY_MIN_MS;
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, pause));
    if (signal.aborted) break;
    try {
      return start();
    } catch {
      pause = Math.min(pause * 2, RETRY_MAX_MS);
    }
  }
  return undefined;
}
