/**
 * A WebSocket client over a raw TCP connection, for what a browser-style
 * `WebSocket` cannot do: stop reading (so the server sees a slow consumer),
 * and then read every byte the server did write.
 *
 * @module
 */

/** A server frame: text, or the close frame with its code. */
export type RawFrame = { kind: "text"; text: string } | {
  kind: "close";
  code: number;
  reason: string;
};

/** A WebSocket client that reads only when asked. */
export class RawSocket {
  readonly #conn: Deno.TcpConn;
  #buffer: Uint8Array = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn, rest: Uint8Array) {
    this.#conn = conn;
    this.#buffer = rest;
  }

  /** Performs the opening handshake on `path` and returns once upgraded. */
  static async connect(baseUrl: string, path: string): Promise<RawSocket> {
    const url = new URL(baseUrl);
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
    const request =
      `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    let received: Uint8Array = new Uint8Array(0);
    while (true) {
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("connection closed during handshake");
      received = concat(received, chunk.subarray(0, n));
      const end = findHeaderEnd(received);
      if (end === -1) continue;
      const head = new TextDecoder().decode(received.subarray(0, end));
      if (!head.startsWith("HTTP/1.1 101")) {
        throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
      }
      return new RawSocket(conn, received.subarray(end + 4));
    }
  }

  /** Reads frames until the server's close frame or the end of the stream. */
  async readAll(timeoutMs: number): Promise<RawFrame[]> {
    const frames: RawFrame[] = [];
    const timer = setTimeout(() => this.#conn.close(), timeoutMs);
    try {
      while (true) {
        const frame = this.#parse();
        if (frame) {
          frames.push(frame);
          if (frame.kind === "close") return frames;
          continue;
        }
        const chunk = new Uint8Array(256 * 1024);
        const n = await this.#conn.read(chunk).catch(() => null);
        if (n === null) return frames;
        this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the TCP connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  #parse(): RawFrame | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    const opcode = b[0] & 0x0f;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = (b[2] << 8) | b[3];
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      offset = 10;
    }
    if (b.length < offset + length) return undefined;
    const payload = b.subarray(offset, offset + length);
    this.#buffer = b.subarray(offset + length);
    if (opcode === 0x8) {
      const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
      return { kind: "close", code, reason: new TextDecoder().decode(payload.subarray(2)) };
    }
    if (opcode === 0x1) return { kind: "text", text: new TextDecoder().decode(payload) };
    return this.#parse();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function findHeaderEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
