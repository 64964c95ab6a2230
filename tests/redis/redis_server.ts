/**
 * Starts a throwaway `redis-server` for a test, on a free port, with no
 * persistence, and stops or kills it on demand.
 *
 * @module
 */

/** Options of {@linkcode RedisServer.start}. */
export interface RedisServerOptions {
  /** A fixed port; by default a free one is picked. */
  port?: number;
  /** Sets `--requirepass`. */
  password?: string;
  /** More `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
  /** How long to wait for the first PONG. Default 5000 ms. */
  startTimeoutMs?: number;
  /** Also listen on a Unix socket (its URL is {@linkcode RedisServer.unixUrl}). */
  unixSocket?: boolean;
  /**
   * Its niceness, through `nice -n` (so every thread has it). A negative one
   * needs the privilege; without it the server runs at the usual priority.
   */
  nice?: number;
}

import { RedisError } from "../../lib/redis/errors.ts";
import { encodeCommand, type RedisArg, type RedisReply, RespParser } from "../../lib/redis/resp.ts";

const PING = encodeCommand(["PING"]);

/**
 * A running `redis-server` child process.
 *
 * @example Usage
 * ```ts ignore
 * import { RedisServer } from "./redis_server.ts";
 *
 * await using server = await RedisServer.start();
 * console.log(server.url); // redis://127.0.0.1:<port>
 * ```
 */
export class RedisServer implements AsyncDisposable {
  #child: Deno.ChildProcess | undefined;
  #options: RedisServerOptions;

  private constructor(readonly port: number, options: RedisServerOptions) {
    this.#options = options;
  }

  /** Starts a server and waits until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    // A free port found by binding port 0 may be taken again before redis
    // binds it; only then is another tried.
    for (let attempt = 0;; attempt++) {
      const server = new RedisServer(options.port ?? freePort(), options);
      try {
        await server.restart();
        return server;
      } catch (error) {
        if (options.port !== undefined || attempt >= 4) throw error;
      }
    }
  }

  /** `redis://127.0.0.1:<port>`, without the password. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `unix://<path>` of its Unix socket, when started with `unixSocket`. */
  get unixUrl(): string {
    if (!this.#options.unixSocket) throw new Error("started without a Unix socket");
    return `unix://${this.#socketPath}`;
  }

  get #socketPath(): string {
    return `${Deno.env.get("TMPDIR") ?? "/tmp"}/huayi-redis-${this.port}.sock`;
  }

  /** Whether the process is running (as far as this object knows). */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /**
   * Runs one command on a connection of its own (authenticated if the server
   * has a password), independent of any client under test.
   *
   * @throws {RedisError} The server's error reply.
   */
  async command(args: readonly RedisArg[]): Promise<RedisReply> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
    try {
      const password = this.#options.password;
      const commands = password === undefined ? [args] : [["AUTH", password], args];
      for (const command of commands) await conn.write(encodeCommand(command));
      const parser = new RespParser();
      const buffer = new Uint8Array(64 * 1024);
      let reply;
      for (let replies = 0; replies < commands.length;) {
        reply = parser.next();
        if (reply === undefined) {
          const n = await conn.read(buffer);
          if (n === null) throw new Error("redis-server closed the connection");
          parser.feed(buffer.subarray(0, n));
        } else if (reply instanceof RedisError) throw reply;
        else replies++;
      }
      return reply as RedisReply;
    } finally {
      conn.close();
    }
  }

  /** Waits until `count` clients are blocked (in BLPOP and the like), so a test knows a command was sent. */
  async untilBlocked(count: number): Promise<void> {
    for (;;) {
      const info = await this.command(["INFO", "clients"]) as string;
      if (info.includes(`blocked_clients:${count}\r\n`)) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Stops the server with SIGTERM and waits for it to exit. */
  async stop(): Promise<void> {
    await this.#signal("SIGTERM");
  }

  /** Kills the server with SIGKILL, as a crash would, and waits for it to exit. */
  async kill9(): Promise<void> {
    await this.#signal("SIGKILL");
  }

  /** Starts the server again on the same port (stopping it first if it runs). */
  async restart(): Promise<void> {
    await this.stop();
    const args = ["--port", String(this.port), "--bind", "127.0.0.1"];
    args.push("--save", "", "--appendonly", "no");
    if (this.#options.password !== undefined) args.push("--requirepass", this.#options.password);
    if (this.#options.unixSocket) {
      args.push("--unixsocket", this.#socketPath, "--unixsocketperm", "700");
    }
    args.push(...(this.#options.args ?? []));
    const nice = this.#options.nice;
    const [command, ...rest] = nice
      ? ["nice", "-n", String(nice), "redis-server"]
      : ["redis-server"];
    const child = new Deno.Command(command, {
      args: [...rest, ...args],
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    this.#child = child;
    try {
      await waitForPong(this.port, child, this.#options.startTimeoutMs ?? 5000);
    } catch (error) {
      await this.kill9();
      throw error;
    }
  }

  /**
   * Kills the server: with nothing to persist a kill loses nothing, and
   * SIGTERM waits for redis's next cron tick (up to 100 ms).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill9();
    // After a kill the socket file stays behind (a clean stop removes it).
    if (this.#options.unixSocket) await Deno.remove(this.#socketPath).catch(() => {});
  }

  async #signal(signal: Deno.Signal): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch {
      // It exited by itself; its status is still collected below.
    }
    await child.status;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Any reply to PING (even `-NOAUTH`) proves the server is serving. */
async function waitForPong(port: number, child: Deno.ChildProcess, timeoutMs: number) {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`redis-server on port ${port} exited during start`);
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    if (await answersPing(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function answersPing(port: number): Promise<boolean> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return false;
  }
  try {
    await conn.write(PING);
    const n = await conn.read(new Uint8Array(64));
    return n !== null && n > 0;
  } catch {
    return false;
  } finally {
    conn.close();
  }
}
