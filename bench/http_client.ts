/**
 * A minimal HTTP/1.1 client for load: keep-alive, pipelined POSTs over one
 * `Deno.connect` socket. `fetch` allocates a lot per request and tops out far
 * below the server here; this client costs little more than the bytes.
 *
 * @module
 */

const encoder = new TextEncoder();
const CRLFCRLF = [13, 10, 13, 10];

/**
 * Splits a stream of HTTP/1.1 responses (each with `Content-Length`) into
 * their status codes.
 *
 * @example Usage
 * ```ts
 * import { ResponseParser } from "./http_client.ts";
 * const parser = new ResponseParser();
 * parser.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"));
 * // [200]
 * ```
 */
export class ResponseParser {
  #buffer: Uint8Array = new Uint8Array(0);

  /** Adds bytes; returns the status of every response now complete, in order. */
  push(chunk: Uint8Array): number[] {
    this.#buffer = this.#buffer.length ? concat(this.#buffer, chunk) : chunk;
    const statuses: number[] = [];
    while (true) {
      const end = indexOf(this.#buffer, CRLFCRLF);
      if (end === -1) break;
      const head = new TextDecoder().decode(this.#buffer.subarray(0, end));
      const status = Number(head.slice(9, 12));
      const length = Number(head.match(/\r\ncontent-length:\s*(\d+)/i)?.[1] ?? NaN);
      if (!Number.isFinite(status) || !Number.isFinite(length)) {
        throw new Error(`cannot parse response head: ${head.slice(0, 80)}`);
      }
      const total = end + 4 + length;
      if (this.#buffer.length < total) break;
      statuses.push(status);
      this.#buffer = this.#buffer.subarray(total);
    }
    return statuses;
  }
}

/**
 * One keep-alive connection on which requests are pipelined: each `post`
 * resolves with its status, in the order sent.
 *
 * @example Usage
 * ```ts ignore
 * const client = await HttpClient.connect(new URL("http://127.0.0.1:8080"));
 * const status = await client.post("/api/messages", body, { authorization: `Bearer ${sid}` });
 * client.close();
 * ```
 */
export class HttpClient {
  readonly #conn: Deno.TcpConn;
  readonly #host: string;
  readonly #waiting: ((status: number) => void)[] = [];
  readonly #onWritten: ((ms: number) => void) | undefined;
  #queued: Uint8Array[] = [];
  // When each queued request was posted (performance.now()), if timed.
  #postedAt: number[] = [];
  #flushing = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn, host: string, onWritten?: (ms: number) => void) {
    this.#conn = conn;
    this.#host = host;
    this.#onWritten = onWritten;
    this.#readLoop();
  }

  /**
   * Opens a connection to `url`'s host and port. `onWritten`, if given, is
   * told for every request how long it took from `post` to its last byte
   * handed to the socket: the generator's own share of a send's latency.
   */
  static async connect(url: URL, onWritten?: (ms: number) => void): Promise<HttpClient> {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    conn.setNoDelay(true);
    return new HttpClient(conn, url.host, onWritten);
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#waiting.length;
  }

  /** Sends a JSON POST; resolves with the status (0 if the connection ended first). */
  post(path: string, body: string, headers: Record<string, string> = {}): Promise<number> {
    if (this.#closed) return Promise.resolve(0);
    const bytes = encoder.encode(body);
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.#host}\r\ncontent-type: application/json\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `content-length: ${bytes.length}\r\n\r\n`;
    this.#queued.push(encoder.encode(head), bytes);
    if (this.#onWritten) this.#postedAt.push(performance.now());
    const { promise, resolve } = Promise.withResolvers<number>();
    this.#waiting.push(resolve);
    if (!this.#flushing) queueMicrotask(() => this.#flush());
    this.#flushing = true;
    return promise;
  }

  /** Closes the connection; unanswered requests resolve with 0. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    for (const resolve of this.#waiting.splice(0)) resolve(0);
  }

  // Writes everything queued so far in one call: pipelining's whole point.
  async #flush(): Promise<void> {
    while (this.#queued.length > 0 && !this.#closed) {
      const chunks = this.#queued;
      const posted = this.#postedAt;
      this.#queued = [];
      this.#postedAt = [];
      let data = chunks.length === 1 ? chunks[0] : concat(...chunks);
      try {
        while (data.length > 0) data = data.subarray(await this.#conn.write(data));
        const written = performance.now();
        for (const at of posted) this.#onWritten!(written - at);
      } catch {
        this.close();
      }
    }
    this.#flushing = false;
  }

  async #readLoop(): Promise<void> {
    const parser = new ResponseParser();
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const status of parser.push(buffer.slice(0, n))) this.#waiting.shift()?.(status);
      }
    } catch {
      // Connection reset: fall through and fail what is pending.
    }
    this.close();
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Logs `username` in (open auth) and returns the sid; setup, not load, so
 * plain `fetch`.
 *
 * @example Usage
 * ```ts ignore
 * const sid = await login("http://127.0.0.1:8080", "Harry");
 * ```
 */
export async function login(url: string, username: string): Promise<string> {
  const response = await fetch(`${url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username }),
  });
  const body = await response.json();
  if (!body.sid) throw new Error(`login ${username}: ${JSON.stringify(body)}`);
  return body.sid;
}
