// @ts-check
/**
 * The HTTP half of the public contract: login, logout, users, topics and
 * sending. Nothing here uses a route other clients lack.
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
 * Logs in by name; the contract has no password.
 *
 * @param {string} username
 * @returns {Promise<{sid: string, username: string}>}
 */
export async function login(username) {
  const body = await call("POST", "/api/login", undefined, { username });
  return { sid: String(body.sid), username: String(body.username) };
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
   * @param {boolean} onlineOnly
   * @returns {Promise<string[]>}
   */
  async users(onlineOnly) {
    const body = await call("GET", `/api/users${onlineOnly ? "?online=true" : ""}`, this.sid);
    return names(body.list, "username");
  }

  /** @returns {Promise<string[]>} */
  async topics() {
    return names((await call("GET", "/api/topics", this.sid)).list, "topic");
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
   * Sends a one-to-one message (topic "") or a topic message whose `to` holds the mentions.
   *
   * @param {string} from
   * @param {string[]} to
   * @param {string} topic
   * @param {string} content
   */
  async send(from, to, topic, content) {
    /** @type {Record<string, unknown>} */
    const message = { "message-type": "message", from, to, "content-type": "text/plain", content };
    if (topic) message.topic = topic;
    await call("POST", "/api/messages", this.sid, message);
  }
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
 * @returns {Promise<Record<string, any>>}
 */
async function call(method, path, sid, body) {
  /** @type {Record<string, string>} */
  const headers = {};
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
