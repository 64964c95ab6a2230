/**
 * A minimal WebSocket client over `Deno.connect`, for the generators. Deno's
 * `WebSocket` dispatches one event per frame; at a fan-out's 200,000 frames/s
 * that alone fills the generator's core. Reading raw bytes, one `read` brings
 * a chunk of many frames, which are split here without copying.
 *
 * Only what the benchmark needs: no extensions, no fragmented messages (the
 * servers never fragment frames this small), and the handshake's accept key
 * is not verified (the peer is our own server on loopback).
 *
 * @module
 */

const encoder = new TextEncoder();

/** Frame opcodes the client reacts to. */
export const Opcode = { text: 1, close: 8, ping: 9, pong: 10 } as const;

/**
 * Splits a stream of server-to-client WebSocket frames.
 *
 * @example Usage
 * ```ts
 * import { FrameParser } from "./ws_reader.ts";
 * const frames: string[] = [];
 * new FrameParser().push(new Uint8Array([0x81, 2, 104, 105]), (_op, p) => frames.push(String.fromCharCode(...p)));
 * // frames: ["hi"]
 * ```
 */
export class FrameParser {
  #rest: Uint8Array = new Uint8Array(0);

  /** Adds bytes and calls `onFrame` for each complete frame (payload valid during the call only). */
  push(chunk: Uint8Array, onFrame: (opcode: number, payload: Uint8Array) => void): void {
    let data = chunk;
    if (this.#rest.length) {
      data = new Uint8Array(this.#rest.length + chunk.length);
      data.set(this.#rest);
      data.set(chunk, this.#rest.length);
    }
    let at = 0;
    while (data.length - at >= 2) {
      const opcode = data[at] & 0x0f;
      const masked = (data[at + 1] & 0x80) !== 0;
      let length = data[at + 1] & 0x7f;
      let head = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = (data[at + 2] << 8) | data[at + 3];
        head = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        // Frames here are far below 2^32 bytes: the high word is zero.
        length = ((data[at + 6] << 24) >>> 0) + (data[at + 7] << 16) + (data[at + 8] << 8) +
          data[at + 9];
        head = 10;
      }
      const maskAt = at + head;
      if (masked) head += 4;
      if (data.length - at < head + length) break;
      const payload = data.subarray(at + head, at + head + length);
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i] ^= data[maskAt + (i & 3)];
      }
      onFrame(opcode, payload);
      at += head + length;
    }
    // Keep the unfinished tail; copy it, since `chunk` is the caller's buffer.
    this.#rest = at === data.length ? new Uint8Array(0) : data.slice(at);
  }
}

/**
 * One client-to-server frame. Clients must mask; the mask key is zero, which
 * is valid and leaves the payload as is (no need to hide anything on loopback).
 *
 * @example Usage
 * ```ts
 * import { encodeClientFrame } from "./ws_reader.ts";
 * encodeClientFrame(1, new TextEncoder().encode("hi")); // 81 82 00 00 00 00 68 69
 * ```
 */
export function encodeClientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const head = payload.length < 126 ? 2 : payload.length < 65536 ? 4 : 10;
  const frame = new Uint8Array(head + 4 + payload.length);
  frame[0] = 0x80 | opcode;
  if (head === 2) frame[1] = 0x80 | payload.length;
  else if (head === 4) {
    frame[1] = 0x80 | 126;
    frame[2] = payload.length >> 8;
    frame[3] = payload.length & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setUint32(6, payload.length);
  }
  frame.set(payload, head + 4);
  return frame;
}

/**
 * A client socket: text frames arrive as bytes through `onText` (valid during
 * the call only, so nothing is decoded or copied that the reader skips; with the
 * socket, since the first frames may come before `open` has returned);
 * `onClose` runs once when the connection ends for any reason.
 *
 * @example Usage
 * ```ts ignore
 * const ws = await RawWebSocket.open(new URL("ws://127.0.0.1:8080/api/ws?sid=x"), console.log, () => {});
 * ws.sendText('{"message-type":"ping","message-id":1}');
 * ws.close();
 * ```
 */
export class RawWebSocket {
  readonly #conn: Deno.TcpConn;
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects, upgrades, and starts reading; rejects if the upgrade is refused. */
  static async open(
    url: URL,
    onText: (payload: Uint8Array, socket: RawWebSocket) => void,
    onClose: () => void,
    readBufferBytes = 16 * 1024,
  ): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    conn.setNoDelay(true);
    const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
      "upgrade: websocket\r\nconnection: Upgrade\r\n" +
      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
    await writeAll(conn, encoder.encode(request));
    const buffer = new Uint8Array(readBufferBytes);
    let head = "";
    let rest = new Uint8Array(0);
    // A handshake answer is a few hundred bytes: a few reads at most.
    for (let reads = 0; reads < 64; reads++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      head += String.fromCharCode(...buffer.subarray(0, n));
      const end = head.indexOf("\r\n\r\n");
      if (end !== -1) {
        rest = buffer.slice(end + 4 - (head.length - n), n);
        head = head.slice(0, end);
        break;
      }
    }
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close();
      throw new Error(`upgrade refused: ${head.split("\r\n")[0] || "connection closed"}`);
    }
    const socket = new RawWebSocket(conn);
    socket.#readLoop(buffer, rest, onText, onClose);
    return socket;
  }

  /** Sends one text frame (writes are queued, so frames never interleave). */
  sendText(text: string): void {
    this.#send(Opcode.text, encoder.encode(text));
  }

  /** Ends the connection without a closing handshake (the run is over). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  #send(opcode: number, payload: Uint8Array): void {
    if (this.#closed) return;
    const frame = encodeClientFrame(opcode, payload);
    this.#writing = this.#writing.then(() => writeAll(this.#conn, frame)).catch(() => this.close());
  }

  async #readLoop(
    buffer: Uint8Array,
    first: Uint8Array,
    onText: (payload: Uint8Array, socket: RawWebSocket) => void,
    onClose: () => void,
  ): Promise<void> {
    const parser = new FrameParser();
    const onFrame = (opcode: number, payload: Uint8Array) => {
      if (opcode === Opcode.text) onText(payload, this);
      else if (opcode === Opcode.ping) this.#send(Opcode.pong, payload.slice());
      else if (opcode === Opcode.close) this.close();
    };
    try {
      if (first.length) parser.push(first, onFrame);
      while (!this.#closed) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        parser.push(buffer.subarray(0, n), onFrame);
      }
    } catch {
      // Reset or closed by us: either way the socket is over.
    }
    this.close();
    onClose();
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  while (data.length > 0) data = data.subarray(await conn.write(data));
}
