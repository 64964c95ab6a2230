// @ts-check
/**
 * The browser's cache of one user's conversations. The server's mailbox is
 * the source of truth (every entry has a `seq` and an `id`, and history is
 * read with `GET /api/messages`); this cache lets a reload show the screen at
 * once and remembers the socket's resume point (`cursor`), the unread counts
 * and the topics the user is believed to be in. It lives in `localStorage`
 * under the user's key, within a size cap.
 *
 * Entries are kept in the server's order (by `seq`) and deduplicated by `id`
 * (the same for every copy of one send), so an entry that comes twice — a
 * replay after a reconnect, a history page, the echo of one's own send — is
 * shown once.
 *
 * @module
 */

/**
 * @typedef {object} ChatEntry A chat message, received or sent.
 * @property {"message"} kind
 * @property {string} id The server's message id ("" only in caches older than ids).
 * @property {number} [seq] Its place in the user's mailbox; none yet for a send whose echo is still to come.
 * @property {string} from
 * @property {string[]} to
 * @property {string} topic "" for one-to-one.
 * @property {string} content
 * @property {number} at When the server accepted it (ms since the epoch).
 */
/**
 * @typedef {object} NoticeEntry A system notice: a topic deleted (a mailbox entry), or not found (local).
 * @property {"notice"} kind
 * @property {string} [id]
 * @property {number} [seq]
 * @property {string} text
 * @property {number} at
 */
/** @typedef {ChatEntry | NoticeEntry} Entry */
/**
 * @typedef {object} Conversation
 * @property {string} id `user:<name>` or `topic:<name>`.
 * @property {"user" | "topic"} type
 * @property {string} name
 * @property {Entry[]} entries In the server's order; entries without a seq stay where they arrived.
 * @property {number} unread
 * @property {boolean} more The server may hold entries older than the oldest one here.
 */

/** Most entries of a conversation written to storage (the newest); the server has the rest. */
export const MAX_ENTRIES_PER_CONVERSATION = 500;
/** Most entries of a conversation held in memory, however far up the user scrolled. */
export const MAX_ENTRIES_IN_MEMORY = 5000;
/** Most characters of JSON kept per user; the oldest entries overall go first. */
export const MAX_STORED_CHARS = 1_000_000;
// Changes are written at most this often: a burst of messages then costs
// one write, not one per message. Call flush() before the page goes.
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

/** One user's cached conversations. */
export class History {
  /** @type {Map<string, Conversation>} */
  #conversations = new Map();
  /** Per conversation: its entries by message id (built when first needed). */
  /** @type {Map<string, Map<string, Entry>>} */
  #byId = new Map();
  /** @type {Set<string>} */
  #joined = new Set();
  #cursor = 0;
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

  /**
   * The resume point: the seq of the last entry the socket delivered, so
   * the next socket asks for what came after it (`since`).
   */
  get cursor() {
    return this.#cursor;
  }

  set cursor(seq) {
    if (seq === this.#cursor) return;
    this.#cursor = seq;
    this.#save();
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
      conversation = { id, type, name, entries: [], unread: 0, more: true };
      this.#conversations.set(id, conversation);
    }
    return conversation;
  }

  /**
   * Puts an entry in its place, unless the conversation has it already (same
   * id). A copy that brings the seq of an entry that had none (the echo of
   * one's own send) fills it in and moves the entry to its place.
   *
   * @param {"user" | "topic"} type
   * @param {string} name
   * @param {Entry} entry
   * @returns {boolean} Whether the entry is new here.
   */
  insert(type, name, entry) {
    const conversation = this.open(type, name);
    const index = this.#index(conversation);
    const known = entry.id ? index.get(entry.id) : undefined;
    if (known) {
      if (known.seq === undefined && entry.seq !== undefined) {
        conversation.entries.splice(conversation.entries.indexOf(known), 1);
        known.seq = entry.seq;
        known.at = entry.at;
        place(conversation.entries, known);
        this.#save();
      }
      return false;
    }
    place(conversation.entries, entry);
    if (entry.id) index.set(entry.id, entry);
    const excess = conversation.entries.length - MAX_ENTRIES_IN_MEMORY;
    if (excess > 0) {
      for (const gone of conversation.entries.splice(0, excess)) {
        if (gone.id) index.delete(gone.id);
      }
      conversation.more = true;
    }
    this.#save();
    return true;
  }

  /**
   * Records whether the server holds entries older than the oldest here.
   *
   * @param {string} id
   * @param {boolean} more
   */
  setMore(id, more) {
    const conversation = this.#conversations.get(id);
    if (!conversation || conversation.more === more) return;
    conversation.more = more;
    this.#save();
  }

  /**
   * Drops the entries with a seq below `seq`: after a gap the cache can no
   * longer vouch that they join up with what is newer (the server still has
   * them, a scroll up brings them back).
   *
   * @param {string} id
   * @param {number} seq
   */
  dropBefore(id, seq) {
    const conversation = this.#conversations.get(id);
    if (!conversation) return;
    const kept = conversation.entries.filter((e) => e.seq === undefined || e.seq >= seq);
    if (kept.length === conversation.entries.length) return;
    conversation.entries = kept;
    conversation.more = true;
    this.#byId.delete(id);
    this.#save();
  }

  /**
   * The oldest seq in a conversation, or undefined when no entry has one.
   *
   * @param {string} id
   * @returns {number | undefined}
   */
  oldestSeq(id) {
    return this.#conversations.get(id)?.entries.find((e) => e.seq !== undefined)?.seq;
  }

  /**
   * The newest seq in a conversation, or undefined when no entry has one.
   *
   * @param {string} id
   * @returns {number | undefined}
   */
  newestSeq(id) {
    const entries = this.#conversations.get(id)?.entries ?? [];
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i].seq !== undefined) return entries[i].seq;
    }
    return undefined;
  }

  /**
   * The id of the cached entry at each seq: what a check that the server
   * still numbers the mailbox the same way compares against.
   *
   * @returns {Map<number, string>}
   */
  idsBySeq() {
    /** @type {Map<number, string>} */
    const ids = new Map();
    for (const conversation of this.#conversations.values()) {
      for (const entry of conversation.entries) {
        if (entry.seq !== undefined && entry.id) ids.set(entry.seq, entry.id);
      }
    }
    return ids;
  }

  /**
   * The server numbers this mailbox anew (it lost its data, e.g. a restart
   * of the memory store): cached entries keep their ids and their places but
   * lose their seqs, and the resume point starts over.
   */
  forgetSeqs() {
    for (const conversation of this.#conversations.values()) {
      for (const entry of conversation.entries) delete entry.seq;
      conversation.more = true;
    }
    this.#cursor = 0;
    this.#save();
  }

  /** @param {string} id */
  bumpUnread(id) {
    const conversation = this.#conversations.get(id);
    if (!conversation) return;
    conversation.unread++;
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

  /** Writes pending changes to storage now. */
  flush() {
    if (this.#saveTimer === undefined) return;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    this.#write();
  }

  /**
   * @param {Conversation} conversation
   * @returns {Map<string, Entry>}
   */
  #index(conversation) {
    let index = this.#byId.get(conversation.id);
    if (!index) {
      index = new Map();
      for (const entry of conversation.entries) if (entry.id) index.set(entry.id, entry);
      this.#byId.set(conversation.id, index);
    }
    return index;
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
      const entries = item.entries.filter(isEntry).map(normalize);
      const unread = Number.isInteger(item.unread) && item.unread > 0 ? item.unread : 0;
      const id = conversationId(item.type, item.name);
      const more = item.more !== false;
      this.#conversations.set(id, { id, type: item.type, name: item.name, entries, unread, more });
    }
    if (Array.isArray(data.joined)) {
      for (const topic of data.joined) if (typeof topic === "string") this.#joined.add(topic);
    }
    if (Number.isSafeInteger(data.cursor) && data.cursor > 0) this.#cursor = data.cursor;
  }

  #save() {
    this.#saveTimer ??= setTimeout(() => {
      this.#saveTimer = undefined;
      this.#write();
    }, SAVE_DELAY_MS);
  }

  // Writes the newest entries of each conversation, dropping the oldest
  // overall until the text fits; what is in memory stays as it is.
  #write() {
    const conversations = this.list().map((c) => {
      const entries = c.entries.slice(-MAX_ENTRIES_PER_CONVERSATION);
      return { ...c, entries, more: c.more || entries.length < c.entries.length };
    });
    const serialize = () =>
      JSON.stringify({ cursor: this.#cursor, conversations, joined: [...this.#joined] });
    let text = serialize();
    while (text.length > MAX_STORED_CHARS && dropOldest(conversations)) text = serialize();
    // Over the browser's quota (other users share it): halve what is written until it fits.
    for (let total = Infinity; total > 0;) {
      try {
        this.#storage.setItem(this.#key, text);
        return;
      } catch {
        total = conversations.reduce((sum, c) => sum + c.entries.length, 0);
        for (let i = 0; i < total / 2; i++) dropOldest(conversations);
        text = serialize();
      }
    }
    // Still full with no entries: the cache stays in memory for this page only.
  }
}

/**
 * Inserts `entry` in seq order: before the first entry with a higher seq,
 * else at the end. Entries without a seq keep their places.
 *
 * @param {Entry[]} entries
 * @param {Entry} entry
 */
function place(entries, entry) {
  let at = entries.length;
  if (entry.seq !== undefined) {
    for (let i = entries.length - 1; i >= 0; i--) {
      const seq = entries[i].seq;
      if (seq === undefined) continue;
      if (seq > entry.seq) at = i;
      else break;
    }
  }
  entries.splice(at, 0, entry);
}

// Drops the oldest entry of all conversations; false when none is left.
/** @param {{entries: Entry[], more: boolean}[]} conversations */
function dropOldest(conversations) {
  /** @type {{entries: Entry[], more: boolean} | undefined} */
  let oldest;
  for (const conversation of conversations) {
    const first = conversation.entries[0];
    if (first && (!oldest || first.at < oldest.entries[0].at)) oldest = conversation;
  }
  if (!oldest) return false;
  oldest.entries = oldest.entries.slice(1);
  oldest.more = true;
  return true;
}

/**
 * @param {any} entry
 * @returns {entry is Entry}
 */
function isEntry(entry) {
  if (!entry || typeof entry.at !== "number") return false;
  if (entry.seq !== undefined && !Number.isSafeInteger(entry.seq)) return false;
  if (entry.id !== undefined && typeof entry.id !== "string") return false;
  if (entry.kind === "notice") return typeof entry.text === "string";
  return entry.kind === "message" && typeof entry.from === "string" &&
    Array.isArray(entry.to) && typeof entry.topic === "string" &&
    typeof entry.content === "string";
}

/**
 * A stored entry as the client uses it (caches from before ids have none).
 *
 * @param {Entry} entry
 * @returns {Entry}
 */
function normalize(entry) {
  if (entry.kind === "message") {
    return { ...entry, id: entry.id ?? "", to: entry.to.map(String) };
  }
  return { ...entry };
}
