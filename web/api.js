// @ts-check
/**
 * The HTTP half of the contract: login, logout, pages of users and topics,
 * history, and sending. Nothing here uses a route other clients lack.
 *
 * @module
 */

/** A failed API call: the HTTP status (0 when the server was unreachable) and its reason. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * A mailbox entry's frame as the server sends it (over the socket or in a
 * history page). Only the fields the client reads are named.
 *
 * @typedef {Record<string, any>} Frame
 */

/**
 * @typedef {object} NamePage One page of a name-sorted list.
 * @property {string[]} names
 * @property {number} total How many match in all, this page or not.
 */

/**
 * @typedef {object} HistoryQuery
 * @property {number} [before] Newest first, seq < before.
 * @property {number} [after] Oldest first, seq > after.
 * @property {number} [limit] 1 to 200 (the server's default is 50).
 * @property {string} [with] Only the one-to-one entries with this user.
 * @property {string} [topic] Only this topic's entries.
 */

/** Tries a send this many times when the server cannot be reached, with the same key. */
const SEND_ATTEMPTS = 3;

/**
 * How the server lets people log in (its `IM_AUTH`): a name is enough
 * (`open`), a registered name and its password (`password`), or a token the
 * embedding application's backend signed (`token`).
 *
 * @typedef {"open" | "password" | "token"} AuthMode
 */

/**
 * A logged-in person, as this tab keeps them: `auth` is how the session was
 * made (never the password or the token themselves).
 *
 * @typedef {{sid: string, username: string, auth: AuthMode}} Session
 */

/**
 * Logs in. What proves the name depends on the server's mode: nothing
 * (open), `password`, or `token`; every refusal is a 401.
 *
 * @param {string} username
 * @param {{password?: string, token?: string}} [proof]
 * @returns {Promise<{sid: string, username: string}>}
 */
export async function login(username, proof = {}) {
  const body = await call("POST", "/api/login", undefined, { username, ...proof });
  return { sid: String(body.sid), username: String(body.username) };
}

/**
 * Creates an account (password mode only): 409 when the name is taken, 400
 * for a password out of the rules, 404 when the server is in another mode.
 *
 * @param {string} username
 * @param {string} password
 * @returns {Promise<void>}
 */
export async function register(username, password) {
  await call("POST", "/api/register", undefined, { username, password });
}

/**
 * The server's `IM_AUTH` mode, as its health check names it (`"auth"`);
 * undefined when the server did not say (not reachable, or a server without
 * the field).
 *
 * @returns {Promise<AuthMode | undefined>}
 */
export async function serverAuthMode() {
  try {
    const body = await call("GET", "/api/healthz", undefined, undefined);
    return ["open", "password", "token"].includes(body?.auth) ? body.auth : undefined;
  } catch {
    return undefined;
  }
}

/** Calls made on behalf of one session. */
export class Api {
  /** @param {string} sid */
  constructor(sid) {
    this.sid = sid;
  }

  /** @returns {Promise<void>} */
  async logout() {
    await call("POST", "/api/logout", this.sid);
  }

  /**
   * One page of users, by name: at most `limit` names after `after`.
   *
   * @param {{after?: string, limit: number, online?: boolean}} page
   * @returns {Promise<NamePage>}
   */
  async users({ after, limit, online = false }) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (after !== undefined) query.set("after", after);
    if (online) query.set("online", "true");
    const body = await call("GET", `/api/users?${query}`, this.sid);
    return { names: names(body.list, "username"), total: Number(body.total) || 0 };
  }

  /**
   * One page of topics, by name.
   *
   * @param {{after?: string, limit: number}} page
   * @returns {Promise<NamePage>}
   */
  async topics({ after, limit }) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (after !== undefined) query.set("after", after);
    const body = await call("GET", `/api/topics?${query}`, this.sid);
    return { names: names(body.list, "topic"), total: Number(body.total) || 0 };
  }

  /**
   * A page of the user's own mailbox (`GET /api/messages`).
   *
   * @param {HistoryQuery} query
   * @returns {Promise<{list: Frame[], hasMore: boolean}>}
   */
  async history(query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) params.set(name, String(value));
    }
    const body = await call("GET", `/api/messages?${params}`, this.sid);
    const list = Array.isArray(body.list)
      ? body.list.filter((/** @type {unknown} */ f) => typeof f === "object" && f !== null)
      : [];
    return { list, hasMore: body["has-more"] === true };
  }

  /** @param {string} topic */
  async createTopic(topic) {
    await call("POST", "/api/topics", this.sid, { topic });
  }

  /** @param {string} topic */
  async deleteTopic(topic) {
    await call("DELETE", `/api/topics/${encodeURIComponent(topic)}`, this.sid);
  }

  /** @param {string} topic */
  async joinTopic(topic) {
    await call("POST", `/api/topics/${encodeURIComponent(topic)}/actions/join`, this.sid);
  }

  /** @param {string} topic */
  async quitTopic(topic) {
    await call("POST", `/api/topics/${encodeURIComponent(topic)}/actions/quit`, this.sid);
  }

  /**
   * Sends a one-to-one message (topic "") or a topic message whose `to` holds
   * the mentions. When the server cannot be reached it tries again with the
   * same `Idempotency-Key` and body, so a send whose answer was lost is not
   * sent twice.
   *
   * @param {string} from
   * @param {string[]} to
   * @param {string} topic
   * @param {string} content
   * @returns {Promise<{id: string, sentAt: number}>} The server's id and time for the message.
   */
  async send(from, to, topic, content) {
    /** @type {Record<string, unknown>} */
    const message = { "message-type": "message", from, to, "content-type": "text/plain", content };
    if (topic) message.topic = topic;
    const key = randomKey();
    for (let attempt = 1;; attempt++) {
      try {
        const body = await call("POST", "/api/messages", this.sid, message, {
          "idempotency-key": key,
        });
        const sentAt = Number(body["sent-at"]);
        return { id: String(body.id ?? ""), sentAt: Number.isFinite(sentAt) ? sentAt : Date.now() };
      } catch (error) {
        const retry = error instanceof ApiError && (error.status === 0 || error.status === 503);
        if (!retry || attempt >= SEND_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 400 * attempt));
      }
    }
  }
}

/**
 * 128 random bits as hex: `crypto.randomUUID` needs a secure context, this does not.
 *
 * @returns {string}
 */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * @param {unknown} list
 * @param {string} field
 * @returns {string[]}
 */
function names(list, field) {
  if (!Array.isArray(list)) return [];
  return list.map((item) => String(item?.[field] ?? "")).filter((name) => name !== "");
}

/**
 * @param {string} method
 * @param {string} path
 * @param {string} [sid]
 * @param {unknown} [body]
 * @param {Record<string, string>} [extraHeaders]
 * @returns {Promise<Record<string, any>>}
 */
async function call(method, path, sid, body, extraHeaders = {}) {
  /** @type {Record<string, string>} */
  const headers = { ...extraHeaders };
  if (sid) headers.authorization = `Bearer ${sid}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "the server cannot be reached");
  }
  /** @type {any} */
  let parsed = {};
  try {
    parsed = await response.json();
  } catch {
    // A body that is not JSON still has a status worth reporting.
  }
  if (!response.ok) {
    const reason = typeof parsed?.error === "string" ? parsed.error : response.statusText;
    throw new ApiError(response.status, reason);
  }
  return parsed ?? {};
}
