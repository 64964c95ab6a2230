// @ts-check
/**
 * Conversation history kept in the browser: the server keeps none, so each
 * user's conversations, unread counts and known topic memberships live in
 * `localStorage` under that user's key, within a size cap.
 *
 * @module
 */

/**
 * @typedef {object} ChatEntry A chat message, received or sent.
 * @property {"message"} kind
 * @property {string} from
 * @property {string[]} to
 * @property {string} topic "" for one-to-one.
 * @property {string} content
 * @property {number} at When this browser received or sent it (ms since the epoch).
 */
/**
 * @typedef {object} NoticeEntry A system notice (topic deleted, topic not found).
 * @property {"notice"} kind
 * @property {string} text
 * @property {number} at
 */
/** @typedef {ChatEntry | NoticeEntry} Entry */
/**
 * @typedef {object} Conversation
 * @property {string} id `user:<name>` or `topic:<name>`.
 * @property {"user" | "topic"} type
 * @property {string} name
 * @property {Entry[]} entries Oldest first.
 * @property {number} unread
 */

/** Most entries kept per conversation; older ones are dropped first. */
export const MAX_ENTRIES_PER_CONVERSATION = 500;
/** Most characters of JSON kept per user; the oldest entries overall go first. */
export const MAX_STORED_CHARS = 1_000_000;
// Changes are written at most this often: a burst of offline messages then
// costs one write, not one per message. Call flush() before the page goes.
const SAVE_DELAY_MS = 100;

/**
 * The id of a conversation.
 *
 * @param {"user" | "topic"} type
 * @param {string} name
 * @returns {string}
 */
export function conversationId(type, name) {
  return `${type}:${name}`;
}

/** One user's history. */
export class History {
  /** @type {Map<string, Conversation>} */
  #conversations = new Map();
  /** @type {Set<string>} */
  #joined = new Set();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #saveTimer;
  #key;
  #storage;

  /**
   * @param {string} username
   * @param {Storage} storage
   */
  constructor(username, storage = localStorage) {
    this.#key = `huayi-im:history:${username}`;
    this.#storage = storage;
    this.#load();
  }

  /** @returns {Conversation[]} */
  list() {
    return [...this.#conversations.values()];
  }

  /**
   * @param {string} id
   * @returns {Conversation | undefined}
   */
  get(id) {
    return this.#conversations.get(id);
  }

  /**
   * The conversation with that id, created empty if new.
   *
   * @param {"user" | "topic"} type
   * @param {string} name
   * @returns {Conversation}
   */
  open(type, name) {
    const id = conversationId(type, name);
    let conversation = this.#conversations.get(id);
    if (!conversation) {
      conversation = { id, type, name, entries: [], unread: 0 };
      this.#conversations.set(id, conversation);
    }
    return conversation;
  }

  /**
   * Appends an entry, counting it as unread unless the conversation is being read.
   *
   * @param {"user" | "topic"} type
   * @param {string} name
   * @param {Entry} entry
   * @param {boolean} unread
   */
  add(type, name, entry, unread) {
    const conversation = this.open(type, name);
    conversation.entries.push(entry);
    if (conversation.entries.length > MAX_ENTRIES_PER_CONVERSATION) {
      conversation.entries.splice(0, conversation.entries.length - MAX_ENTRIES_PER_CONVERSATION);
    }
    if (unread) conversation.unread++;
    this.#save();
  }

  /** @param {string} id */
  markRead(id) {
    const conversation = this.#conversations.get(id);
    if (!conversation || conversation.unread === 0) return;
    conversation.unread = 0;
    this.#save();
  }

  /**
   * Whether this browser believes the user is a member of the topic: the
   * contract has no "my topics" route, so membership is tracked from what
   * the user did and what arrived.
   *
   * @param {string} topic
   */
  isJoined(topic) {
    return this.#joined.has(topic);
  }

  /**
   * @param {string} topic
   * @param {boolean} joined
   */
  setJoined(topic, joined) {
    if (this.#joined.has(topic) === joined) return;
    if (joined) this.#joined.add(topic);
    else this.#joined.delete(topic);
    this.#save();
  }

  #load() {
    /** @type {any} */
    let data;
    try {
      data = JSON.parse(this.#storage.getItem(this.#key) ?? "null");
    } catch {
      return;
    }
    if (!data || !Array.isArray(data.conversations)) return;
    for (const item of data.conversations) {
      if (!item || (item.type !== "user" && item.type !== "topic")) continue;
      if (typeof item.name !== "string" || !Array.isArray(item.entries)) continue;
      const entries = item.entries.filter(isEntry);
      const unread = Number.isInteger(item.unread) && item.unread > 0 ? item.unread : 0;
      const id = conversationId(item.type, item.name);
      this.#conversations.set(id, { id, type: item.type, name: item.name, entries, unread });
    }
    if (Array.isArray(data.joined)) {
      for (const topic of data.joined) if (typeof topic === "string") this.#joined.add(topic);
    }
  }

  /** Writes pending changes to storage now. */
  flush() {
    if (this.#saveTimer === undefined) return;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    this.#write();
  }

  #save() {
    this.#saveTimer ??= setTimeout(() => {
      this.#saveTimer = undefined;
      this.#write();
    }, SAVE_DELAY_MS);
  }

  #write() {
    let text = this.#serialize();
    while (text.length > MAX_STORED_CHARS && this.#dropOldest()) text = this.#serialize();
    try {
      this.#storage.setItem(this.#key, text);
    } catch {
      // Over the browser's quota (other users share it): keep half as much and try once more.
      const total = this.list().reduce((sum, c) => sum + c.entries.length, 0);
      for (let i = 0; i < total / 2; i++) this.#dropOldest();
      try {
        this.#storage.setItem(this.#key, this.#serialize());
      } catch {
        // Still full: the history stays in memory for this page only.
      }
    }
  }

  #serialize() {
    return JSON.stringify({ conversations: this.list(), joined: [...this.#joined] });
  }

  // Drops the oldest entry of all conversations; false when none is left.
  #dropOldest() {
    /** @type {Conversation | undefined} */
    let oldest;
    for (const conversation of this.#conversations.values()) {
      const first = conversation.entries[0];
      if (first && (!oldest || first.at < oldest.entries[0].at)) oldest = conversation;
    }
    if (!oldest) return false;
    oldest.entries.shift();
    return true;
  }
}

/**
 * @param {any} entry
 * @returns {entry is Entry}
 */
function isEntry(entry) {
  if (!entry || typeof entry.at !== "number") return false;
  if (entry.kind === "notice") return typeof entry.text === "string";
  return entry.kind === "message" && typeof entry.from === "string" &&
    Array.isArray(entry.to) && typeof entry.topic === "string" &&
    typeof entry.content === "string";
}
