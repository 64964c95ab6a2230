/**
 * A stand-in for a server-side WebSocket, for unit tests of the connection and
 * the hub: it records what is sent and how it was closed, lets the test set
 * `bufferedAmount`, and plays the peer (frames in, close, error).
 *
 * @module
 */

import type { HubOptions } from "../../lib/realtime/hub.ts";

/** Contract defaults, with a small outbox so tests fill it quickly. */
export const HUB_OPTIONS: HubOptions = {
  outboxCapacity: 16,
  maxFrameBytes: 65536,
  clientTimeoutMs: 60_000,
  probeIntervalMs: 20_000,
  probeMaxMisses: 3,
  slowConsumerMs: 5_000,
  offlineTtlMs: 600_000,
};

/** What `close()` was called with. */
export interface CloseRecord {
  code: number | undefined;
  reason: string | undefined;
}

/** A fake WebSocket. Pass {@linkcode FakeSocket.ws} where a `WebSocket` is wanted. */
export class FakeSocket {
  readyState: number = WebSocket.OPEN;
  #buffered = 0;
  /** How often `bufferedAmount` was read. */
  bufferedReads = 0;
  /** Every frame handed to `send()`, in order. */
  readonly sent: string[] = [];
  /** Every call of `close()`, in order. */
  readonly closes: CloseRecord[] = [];
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onopen: ((event: Event) => void) | null = null;

  /**
   * Bytes the socket pretends it could not send yet; tests set it. A real
   * socket's grows only by what is sent to it, which the connection counts
   * on: it reads this again only once its own writes since could have
   * passed the high-water mark (or before its first write).
   */
  get bufferedAmount(): number {
    this.bufferedReads++;
    return this.#buffered;
  }

  set bufferedAmount(bytes: number) {
    this.#buffered = bytes;
  }

  /** This object, typed as the WebSocket it stands in for. */
  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }

  /** The first `close()` call, if any. */
  get closed(): CloseRecord | undefined {
    return this.closes[0];
  }

  /** The sent frames, parsed. */
  get frames(): Record<string, unknown>[] {
    return this.sent.map((text) => JSON.parse(text));
  }

  send(data: string): void {
    if (this.readyState !== WebSocket.OPEN) throw new DOMException("not open", "InvalidStateError");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closes.push({ code, reason });
    this.readyState = WebSocket.CLOSED;
  }

  /** The peer sends a frame. */
  receive(data: string | ArrayBuffer | Blob): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** The peer closes the socket. */
  peerClose(code = 1000, reason = ""): void {
    this.readyState = WebSocket.CLOSED;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }

  /** The socket fails. */
  fail(): void {
    this.readyState = WebSocket.CLOSED;
    this.onerror?.(new Event("error"));
  }
}

/** Lets pending promise callbacks and zero-delay timers run. */
export function settle(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` holds, or fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 1000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(2);
  }
}
