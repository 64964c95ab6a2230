// @ts-check
/**
 * The WebSocket half of the contract: one socket per session, opened with
 * `since` (v2 resume) so nothing is missed across a drop, the client's
 * heartbeat, answers to the server's probes, and reconnection with backoff.
 *
 * @module
 */

/** @typedef {"connecting" | "open" | "reconnecting" | "closed"} ConnectionState */

/** The contract's client heartbeat period. */
export const PING_INTERVAL_MS = 5000;
// Hearing nothing for three pings means the socket is half-dead even if the
// browser has not noticed: drop it and reconnect.
const SILENCE_LIMIT_MS = 3 * PING_INTERVAL_MS;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;

/** Close codes after which the session is over and reconnecting would be wrong. */
export const FINAL_CLOSE_CODES = Object.freeze({ 4000: "logged out", 4001: "session replaced" });

/**
 * @typedef {object} ConnectionOptions
 * @property {string} username Sent as the informational `from` of pings.
 * @property {(frame: Record<string, any>) => void} onFrame A chat or system frame.
 * @property {(state: ConnectionState, retryInMs?: number) => void} onState
 * @property {(code: number, reason: string) => void} onEnded The server ended the session (4000/4001).
 * @property {() => Promise<Attempt | null>} prepare Before every attempt (the first one too): the
 *   sid and `since` to use, or null to give up. A rejection counts as a failed attempt.
 */

/**
 * @typedef {object} Attempt
 * @property {string} sid
 * @property {number} since The highest seq the client has every entry up to ("I have all of <= N").
 */

/** A self-healing WebSocket for one user. */
export class Connection {
  /** @type {WebSocket | null} */
  #socket = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pinger;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retry;
  #attempts = 0;
  #nextPingId = 1;
  #lastHeard = 0;
  #stopped = false;
  #options;

  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.#options = options;
  }

  /** Opens the socket; later drops reconnect on their own until {@linkcode stop}. */
  start() {
    this.#options.onState("connecting");
    this.#prepareAndOpen();
  }

  /** Closes the socket for good (logout, or the session ended). */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#detach();
    this.#options.onState("closed");
  }

  /** Skips the wait of a pending retry, for example when the browser comes back online. */
  retryNow() {
    if (this.#stopped || this.#socket || this.#retry === undefined) return;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#prepareAndOpen();
  }

  /** @param {Attempt} attempt */
  #open({ sid, since }) {
    this.#options.onState("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ sid, since: String(since) });
    const socket = new WebSocket(`${scheme}//${location.host}/api/ws?${query}`);
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempts = 0;
      this.#lastHeard = Date.now();
      this.#options.onState("open");
      this.#pinger = setInterval(() => this.#heartbeat(), PING_INTERVAL_MS);
    };
    socket.onmessage = (event) => {
      this.#lastHeard = Date.now();
      this.#receive(event.data);
    };
    socket.onclose = (event) => {
      this.#detach();
      if (this.#stopped) return;
      const reason = FINAL_CLOSE_CODES[/** @type {4000 | 4001} */ (event.code)];
      if (reason) {
        this.stop();
        this.#options.onEnded(event.code, event.reason || reason);
        return;
      }
      this.#scheduleRetry();
    };
  }

  /** @param {unknown} data */
  #receive(data) {
    if (typeof data !== "string") return;
    /** @type {any} */
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof frame !== "object" || frame === null) return;
    const type = frame["message-type"];
    if (type === "pong") {
      this.#send({ "message-type": "ack", "ack-id": frame["message-id"] });
    } else if (type === "message" || type === "system") {
      this.#options.onFrame(frame);
    }
  }

  #heartbeat() {
    if (Date.now() - this.#lastHeard > SILENCE_LIMIT_MS) {
      this.#detach();
      this.#scheduleRetry();
      return;
    }
    const id = this.#nextPingId++;
    this.#send({ "message-type": "ping", "message-id": id, from: this.#options.username });
  }

  /** @param {unknown} frame */
  #send(frame) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(frame));
  }

  // Forgets the current socket without letting its close event act again.
  #detach() {
    clearInterval(this.#pinger);
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
      socket.close(1000, "client closing");
    }
  }

  // Exponential backoff with jitter, so clients dropped together do not all
  // come back in the same instant.
  #scheduleRetry() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.#attempts);
    const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    this.#attempts++;
    this.#options.onState("reconnecting", delay);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#prepareAndOpen();
    }, delay);
  }

  async #prepareAndOpen() {
    let attempt;
    try {
      attempt = await this.#options.prepare();
    } catch {
      if (!this.#stopped) this.#scheduleRetry();
      return;
    }
    if (this.#stopped) return;
    if (attempt === null) {
      this.stop();
      return;
    }
    this.#open(attempt);
  }
}
