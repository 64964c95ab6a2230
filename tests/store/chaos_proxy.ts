/**
 * A TCP proxy in front of a `redis-server` that can lose a reply or hold a
 * command back, to make a call's outcome unknown on purpose: the client
 * sees its connection drop with the command sent, whether or not Redis ran
 * it.
 *
 * @module
 */

import { RespParser } from "../../lib/redis/resp.ts";
import type { RedisReply } from "../../lib/redis/resp.ts";

/** What to do with bytes from the client: pass them on, or keep them and drop the connection. */
export type UpDecision = "pass" | "hold";
/** What to do with bytes from Redis: pass them on, or drop both connections without them. */
export type DownDecision = "pass" | "cut";

/**
 * A proxy with two gates, one per direction, set by the test.
 *
 * @example Usage
 * ```ts ignore
 * import { ChaosProxy } from "./chaos_proxy.ts";
 * await using proxy = ChaosProxy.start(6379);
 * proxy.down = (text) => text.includes("appended") ? "cut" : "pass";
 * ```
 */
export class ChaosProxy implements AsyncDisposable {
  /** Decides on each chunk the client sends (its text, decoded as UTF-8). */
  up: (text: string) => UpDecision = () => "pass";
  /** Decides on each chunk Redis answers. */
  down: (text: string) => DownDecision = () => "pass";
  /** Chunks kept back by `hold`, oldest first. */
  readonly held: Uint8Array[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();

  private constructor(readonly target: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#track(this.#accept());
  }

  /** Listens on a free port, forwarding to `127.0.0.1:<target>`. */
  static start(target: number): ChaosProxy {
    return new ChaosProxy(target);
  }

  /** `redis://127.0.0.1:<port>` of the proxy. */
  get url(): string {
    return `redis://127.0.0.1:${this.#listener.addr.port}`;
  }

  /** Sends the held chunks to Redis on a connection of their own, late; resolves with the replies. */
  async release(count: number): Promise<RedisReply[]> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
    try {
      for (const chunk of this.held.splice(0)) await writeAll(conn, chunk);
      const parser = new RespParser();
      const replies: RedisReply[] = [];
      const buffer = new Uint8Array(65536);
      while (replies.length < count) {
        const reply = parser.next();
        if (reply !== undefined) {
          replies.push(reply as RedisReply);
          continue;
        }
        const n = await conn.read(buffer);
        if (n === null) break;
        parser.feed(buffer.subarray(0, n));
      }
      return replies;
    } finally {
      conn.close();
    }
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.all(this.#tasks);
  }

  /** Closes the proxy. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return;
      }
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
      } catch {
        closeQuietly(client);
        continue;
      }
      this.#conns.add(client);
      this.#conns.add(upstream);
      const pair = [client, upstream];
      this.#track(this.#pump(client, upstream, pair, (chunk, text) => {
        if (this.up(text) === "pass") return true;
        this.held.push(chunk.slice());
        return false;
      }));
      this.#track(this.#pump(upstream, client, pair, (_, text) => this.down(text) === "pass"));
    }
  }

  // Copies from one side to the other until either closes or a gate says no.
  async #pump(
    from: Deno.Conn,
    to: Deno.Conn,
    pair: Deno.Conn[],
    pass: (chunk: Uint8Array, text: string) => boolean,
  ): Promise<void> {
    const buffer = new Uint8Array(65536);
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        if (!pass(chunk, decoder.decode(chunk))) break;
        await writeAll(to, chunk);
      }
    } catch {
      // A side closed under us: the pair ends below.
    }
    for (const conn of pair) {
      this.#conns.delete(conn);
      closeQuietly(conn);
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }
}

function closeQuietly(conn: Deno.Conn | Deno.Listener): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}
