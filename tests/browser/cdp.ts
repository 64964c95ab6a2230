/**
 * A small Chrome DevTools Protocol client over Deno's `WebSocket`: commands
 * with replies, events, and flat sessions (one per attached page).
 *
 * @module
 */

/** An event from the browser; `sessionId` names the page it came from. */
export interface CdpEvent {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly sessionId?: string;
}

interface Pending {
  readonly method: string;
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
}

/** A failed command: the browser's error message and the command's name. */
export class CdpError extends Error {
  constructor(method: string, message: string) {
    super(`${method}: ${message}`);
    this.name = "CdpError";
  }
}

/** One WebSocket connection to the browser's DevTools endpoint. */
export class CdpConnection {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: CdpEvent) => void>();
  readonly #closed: Promise<void>;
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => {
      socket.addEventListener("close", () => {
        for (const pending of this.#pending.values()) {
          pending.reject(new CdpError(pending.method, "connection closed"));
        }
        this.#pending.clear();
        resolve();
      });
    });
    socket.addEventListener("message", (event) => this.#receive(String(event.data)));
  }

  /**
   * Connects to a `ws://…/devtools/browser/…` URL.
   *
   * @example Usage
   * ```ts ignore
   * const cdp = await CdpConnection.connect(url);
   * const { product } = await cdp.send("Browser.getVersion");
   * ```
   */
  static connect(url: string): Promise<CdpConnection> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(new CdpConnection(socket)), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
  }

  /** Sends a command (to a page when `sessionId` is given) and resolves with its result. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.#socket.readyState !== WebSocket.OPEN) {
        reject(new CdpError(method, "connection closed"));
        return;
      }
      this.#pending.set(id, { method, resolve: resolve as Pending["resolve"], reject });
      this.#socket.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  on(listener: (event: CdpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the params of the first matching event, or rejects after
   * `timeoutMs`. Start waiting before triggering the event.
   */
  waitForEvent(
    method: string,
    sessionId: string | undefined,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${method} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on((event) => {
        if (event.method !== method || event.sessionId !== sessionId) return;
        clearTimeout(timer);
        off();
        resolve(event.params);
      });
    });
  }

  /** Closes the connection and waits until it is closed. */
  async close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close();
    await this.#closed;
  }

  #receive(text: string) {
    const message = JSON.parse(text);
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) pending.reject(new CdpError(pending.method, message.error.message));
      else pending.resolve(message.result ?? {});
      return;
    }
    const event: CdpEvent = {
      method: message.method,
      params: message.params ?? {},
      sessionId: message.sessionId,
    };
    for (const listener of [...this.#listeners]) listener(event);
  }
}
