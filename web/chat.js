// @ts-check
/**
 * The logged-in user's chat: its state, the frames that arrive, history
 * read from the server, the lists and the open conversation on screen (what
 * the user sends and does to topics is in `actions.js`).
 *
 * @module
 */

import { conversationId } from "./history.js";
import { Directory } from "./directory.js";
import { $ } from "./elements.js";
import { page, renderEntries, renderTopics, renderUsers } from "./view.js";

/** Where the open conversation is kept across a reload (per tab). */
export const OPEN_KEY = "huayi-im:open";
/** The contract's pattern for usernames and topics. */
export const NAME = /^[a-zA-Z0-9_-]{4,30}$/;
/** Entries per history page of one conversation. */
export const HISTORY_PAGE = 50;
// After a resume that could not replay everything: read what was missed
// from history, at most this many pages of this size.
const GAP_PAGE = 200;
const GAP_PAGES = 5;
// A browser with nothing cached reads the newest entries of the whole
// mailbox, so recent conversations are listed before anything arrives.
const RECENT_PAGE = 100;
// How many of the newest entries a seq check compares (see checkNumbering).
const CHECK_PAGE = 20;

/**
 * Everything that belongs to the logged-in user; null on the login screen.
 *
 * @typedef {object} Chat
 * @property {import("./api.js").Session} session
 * @property {import("./api.js").Api} api
 * @property {import("./history.js").History} history
 * @property {import("./connection.js").Connection} connection
 * @property {boolean} wasConnected A socket opened on this page, so a lost session means a server restart.
 * @property {ReturnType<typeof setInterval>} refresher
 * @property {{type: "user" | "topic", name: string} | null} current
 * @property {Directory} people The window onto the server's users.
 * @property {Directory} topics The window onto the server's topics.
 * @property {Set<string>} gone Topics known to be deleted or not to exist.
 * @property {Promise<void>} sending Sends run one after another so they keep their order.
 * @property {{since: number, first: number} | null} resume The socket's last `__resumed__`.
 * @property {boolean} renumbered The seq check found the mailbox numbered anew (see checkNumbering).
 * @property {Set<string>} synced Conversations whose newest page was read from the server.
 * @property {Set<string>} loading Conversations with a history request under way.
 * @property {() => void} release Lets go of this tab's claim on the person (see app.js).
 */
/** @type {Chat | null} */
let chat = null;

/** The chat on screen, or null on the login screen. */
export function activeChat() {
  return chat;
}

/**
 * Puts a chat on screen, or none. Requests still pending for a chat that was
 * replaced see that it is no longer the active one and leave the screen alone.
 *
 * @param {Chat | null} next
 */
export function setActiveChat(next) {
  chat = next;
}

/**
 * The two windows onto the server's lists for a new chat.
 *
 * @param {() => import("./api.js").Api} api The chat's current Api (it changes when the session is renewed).
 */
export function directories(api) {
  return {
    people: new Directory((query) => api().users(query), true),
    topics: new Directory((query) => api().topics(query), false),
  };
}

/**
 * Reloads what the lists show: the visible page of people (and which of
 * them are online) and of topics; the contract pushes neither.
 */
export async function refresh() {
  const current = chat;
  if (!current) return;
  try {
    await Promise.all([current.people.refresh(), current.topics.refresh()]);
    if (chat === current) scheduleRender();
  } catch {
    // The connection decides what a lost session means; the lists just wait.
  }
}

/**
 * Checks, before a socket resumes from the cached `cursor`, that the server
 * still numbers the mailbox as the cache knows it. A server that lost its
 * data (the memory store restarted) numbers from 1 again, so a resume from
 * the old cursor would skip the new entries below it; the ids tell: the
 * same seq with another id. Then the cache forgets its seqs and the socket
 * resumes from 0. Also proves the session is alive (an ApiError 401 if not).
 *
 * @param {Chat} current
 */
export async function checkNumbering(current) {
  const cursor = current.history.cursor;
  if (cursor === 0) {
    await current.api.history({ limit: 1 });
    return;
  }
  const { list } = await current.api.history({ before: cursor + 1, limit: CHECK_PAGE });
  const known = current.history.idsBySeq();
  const renumbered = list.some((frame) => {
    const id = known.get(frame.seq);
    return id !== undefined && id !== frame.id;
  });
  if (renumbered && chat === current) {
    current.history.forgetSeqs();
    current.renumbered = true;
  }
}

/**
 * Files a frame from the socket into its conversation.
 *
 * @param {Record<string, any>} frame
 */
export function receive(frame) {
  if (!chat) return;
  if (frame["message-type"] === "system" && frame.topic === "__resumed__") {
    resumed(frame.content ?? {});
    return;
  }
  if (frame["message-type"] === "system" && frame.topic === "__topic_not_found__") {
    const topic = String(frame.content?.topic ?? "");
    chat.gone.add(topic);
    put("topic", topic, {
      kind: "notice",
      text: `Topic “${topic}” does not exist.`,
      at: Date.now(),
    });
    refresh();
    return;
  }
  file(frame, true);
  if (Number.isSafeInteger(frame.seq) && frame.seq > chat.history.cursor) {
    chat.history.cursor = frame.seq;
  }
}

/**
 * The socket's first frame: where the replay starts, and whether anything
 * was lost since this browser's cursor.
 *
 * @param {Record<string, any>} content
 */
function resumed(content) {
  const current = chat;
  if (!current) return;
  const since = Number(content.since) || 0;
  const first = Number(content.first) || 1;
  const last = Number(content.last) || 0;
  // Ahead of the server: it lost what this browser had (a memory store restarted).
  const renumbered = current.renumbered || since > last;
  current.renumbered = false;
  if (since > last) current.history.forgetSeqs();
  current.resume = { since: renumbered ? 0 : since, first };
  // Entries below `first` are no longer replayed, only read from history
  // (here, or when a conversation is opened): the next resume starts after
  // them, so it reports only what goes missing from now on.
  if (first - 1 > current.history.cursor) current.history.cursor = first - 1;
  if (renumbered) {
    showResumeNotice("The server restarted. Some older messages may be missing.");
  } else if (since > 0 && content.recovered === false) {
    showResumeNotice("Reconnected. Some older messages may be missing.");
  }
  if (renumbered || content.recovered === false) {
    current.synced.clear();
    if (current.current) syncNewest(current.current.type, current.current.name);
  }
  if (!renumbered && since > 0 && content.recovered === false && first > since + 1) {
    fillGap(current, since, first);
  } else if (since === 0 && !renumbered) {
    loadRecent(current);
  }
}

/** @param {string} text */
function showResumeNotice(text) {
  $.resumeText.textContent = text;
  $.resumeNotice.hidden = false;
}

/** Hides the note about missing messages. */
export function hideResumeNotice() {
  $.resumeNotice.hidden = true;
  $.resumeText.textContent = "";
}

/**
 * Reads from history what the server could no longer replay: the entries
 * after `since` and before `first` (bounded; the notice says what may still
 * be missing).
 *
 * @param {Chat} current
 * @param {number} since
 * @param {number} first
 */
async function fillGap(current, since, first) {
  let after = since;
  try {
    for (let page = 0; page < GAP_PAGES && after < first - 1; page++) {
      const { list, hasMore } = await current.api.history({ after, limit: GAP_PAGE });
      if (chat !== current) return;
      for (const frame of list) {
        if (Number.isSafeInteger(frame.seq) && frame.seq < first) file(frame, false);
        after = Math.max(after, Number(frame.seq) || 0);
      }
      if (!hasMore || list.length === 0) break;
    }
  } catch {
    // What could not be read is still on the server; opening a conversation reads it.
  }
}

/**
 * With nothing cached, reads the newest entries of the whole mailbox so the
 * recent conversations are listed.
 *
 * @param {Chat} current
 */
async function loadRecent(current) {
  try {
    const { list } = await current.api.history({ limit: RECENT_PAGE });
    if (chat !== current) return;
    for (const frame of list) file(frame, false);
  } catch {
    // Only a head start; each conversation reads its own history when opened.
  }
}

/**
 * Puts a mailbox entry's frame (from the socket, or a history page) into
 * its conversation. Only live frames change what the client believes about
 * topics (joined, deleted): history is about the past.
 *
 * @param {Record<string, any>} frame
 * @param {boolean} live
 */
function file(frame, live) {
  if (!chat) return;
  const me = chat.session.username;
  const seq = Number.isSafeInteger(frame.seq) ? Number(frame.seq) : undefined;
  const id = typeof frame.id === "string" ? frame.id : "";
  const sentAt = Number(frame["sent-at"]);
  const at = Number.isFinite(sentAt) ? sentAt : Date.now();
  if (frame["message-type"] === "message") {
    const topic = typeof frame.topic === "string" ? frame.topic : "";
    const from = String(frame.from ?? "");
    const to = Array.isArray(frame.to) ? frame.to.map(String) : [];
    const content = typeof frame.content === "string" ? frame.content : String(frame.content);
    /** @type {import("./history.js").ChatEntry} */
    const entry = { kind: "message", id, seq, from, to, topic, content, at };
    if (topic) {
      if (live) {
        chat.history.setJoined(topic, true);
        chat.gone.delete(topic);
      }
      put("topic", topic, entry);
    } else if (from === me) {
      // One's own copy (sent from here or elsewhere): in each recipient's conversation.
      for (const name of new Set(to)) put("user", name, { ...entry, to: [...to] });
    } else {
      put("user", from, entry);
    }
  } else if (frame["message-type"] === "system" && frame.topic === "__topic_is_deleted__") {
    const topic = String(frame.content?.topic ?? "");
    if (!NAME.test(topic)) return;
    if (live) {
      chat.history.setJoined(topic, false);
      chat.gone.add(topic);
      refresh();
    }
    put("topic", topic, { kind: "notice", id, seq, text: `Topic “${topic}” was deleted.`, at });
  }
}

/**
 * Adds an entry to its conversation and counts it as unread when it is
 * news: someone else's, in a conversation that is not open, and (for an
 * entry from the mailbox) after where this browser's socket resumed — or,
 * for a browser with nothing cached, one the server still delivers.
 *
 * @param {"user" | "topic"} type
 * @param {string} name
 * @param {import("./history.js").Entry} entry
 */
export function put(type, name, entry) {
  if (!chat) return;
  if (!chat.history.insert(type, name, entry)) return;
  const isOpen = chat.current?.type === type && chat.current.name === name;
  const mine = entry.kind === "message" && entry.from === chat.session.username;
  const resume = chat.resume;
  const news = entry.seq === undefined || (resume !== null && entry.seq > resume.since &&
    (resume.since > 0 || entry.seq >= resume.first));
  if (!isOpen && !mine && news) chat.history.bumpUnread(conversationId(type, name));
  scheduleRender();
}

// Frames arrive one task each: coalescing their renders keeps a burst of
// replayed messages from rebuilding the lists once per message.
/** @type {ReturnType<typeof setTimeout> | undefined} */
let renderTimer;
function scheduleRender() {
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    renderAll();
  }, 16);
}

/**
 * @param {"user" | "topic"} type
 * @param {string} name
 * @returns {import("./api.js").HistoryQuery}
 */
function conversationQuery(type, name) {
  return type === "user" ? { with: name } : { topic: name };
}

/**
 * Reads the newest page of a conversation from the server and merges it.
 * If it does not join up with what the cache holds (the cache's newest is
 * older than the page's oldest and the server has more), the cached older
 * part is dropped: the server is the source of truth, and scrolling up
 * reads it back without holes.
 *
 * @param {"user" | "topic"} type
 * @param {string} name
 */
export async function syncNewest(type, name) {
  const current = chat;
  if (!current) return;
  const id = conversationId(type, name);
  if (current.loading.has(id)) return;
  current.loading.add(id);
  let read = false;
  try {
    const { list, hasMore } = await current.api.history({
      ...conversationQuery(type, name),
      limit: HISTORY_PAGE,
    });
    if (chat !== current) return;
    const seqs = list.map((frame) => frame.seq).filter(Number.isSafeInteger);
    const pageOldest = seqs.length > 0 ? Math.min(...seqs) : undefined;
    const cachedNewest = current.history.newestSeq(id);
    const cachedOldest = current.history.oldestSeq(id);
    if (hasMore && pageOldest !== undefined && cachedNewest !== undefined) {
      if (cachedNewest < pageOldest) current.history.dropBefore(id, pageOldest);
    }
    for (const frame of list) file(frame, false);
    current.history.open(type, name);
    if (pageOldest === undefined || cachedOldest === undefined || pageOldest <= cachedOldest) {
      current.history.setMore(id, hasMore);
    }
    current.synced.add(id);
    read = true;
  } catch {
    // Shown from the cache; the next open tries again.
  } finally {
    current.loading.delete(id);
  }
  if (chat === current) {
    renderAll();
    if (read) readOn();
  }
}

/**
 * Reads the page of history just older than what the open conversation
 * shows (when the user scrolls to the top or asks for it).
 */
export async function loadOlder() {
  const current = chat;
  if (!current?.current) return;
  const { type, name } = current.current;
  const id = conversationId(type, name);
  const conversation = current.history.get(id);
  if (!conversation?.more || current.loading.has(id)) return;
  const before = current.history.oldestSeq(id);
  if (before === undefined || !current.synced.has(id)) {
    await syncNewest(type, name);
    return;
  }
  current.loading.add(id);
  renderOlderButton();
  const shown = conversation.entries.length;
  let added = 0;
  try {
    const { list, hasMore } = await current.api.history({
      ...conversationQuery(type, name),
      before,
      limit: HISTORY_PAGE,
    });
    if (chat !== current) return;
    for (const frame of list) file(frame, false);
    current.history.setMore(id, hasMore);
    added = (current.history.get(id)?.entries.length ?? 0) - shown;
  } catch {
    // The button stays; the user can try again.
  } finally {
    current.loading.delete(id);
  }
  if (chat === current) {
    renderAll();
    if (added > 0) readOn();
  }
}

// Scrolled this close to the top, the reader is shown older messages.
const NEAR_TOP_PX = 80;

// After a page came: read on while the open conversation cannot be scrolled
// up (shorter than its pane), or while the reader is at its top — a scroll
// there while this page was on its way found the read busy and was dropped.
// Never after a failure or an empty page: that would ask again at once, in a
// loop, while the server is away (the button stays for the user).
function readOn() {
  const list = $.messages;
  // A hidden pane (the list view on a phone) has no height and is not read.
  if (list.clientHeight === 0) return;
  if (list.scrollHeight <= list.clientHeight + 1 || list.scrollTop < NEAR_TOP_PX) loadOlder();
}

/** Loads older messages when the reader scrolls near the top of the conversation. */
export function onMessagesScroll() {
  if ($.messages.scrollTop < NEAR_TOP_PX) loadOlder();
}

/**
 * Shows a conversation, marks it read, remembers it across a reload, and
 * reads its newest page from the server (once per page load).
 *
 * @param {"user" | "topic"} type
 * @param {string} name
 */
export function openConversation(type, name) {
  if (!chat) return;
  chat.current = { type, name };
  chat.history.open(type, name);
  chat.history.markRead(conversationId(type, name));
  sessionStorage.setItem(OPEN_KEY, JSON.stringify({ type, name }));
  page.body.dataset.view = "conversation";
  $.composeError.textContent = "";
  $.compose.disabled = $.send.disabled = false;
  renderAll();
  $.compose.focus();
  if (!chat.synced.has(conversationId(type, name))) syncNewest(type, name);
}

function renderOlderButton() {
  const current = chat?.current;
  const id = current ? conversationId(current.type, current.name) : "";
  const more = chat?.history.get(id)?.more ?? false;
  const loading = chat?.loading.has(id) ?? false;
  $.loadOlder.hidden = !current || !more;
  $.loadOlder.disabled = loading;
  $.loadOlder.textContent = loading ? "Loading older messages…" : "Load older messages";
}

/** Redraws the lists and the open conversation from the state. */
export function renderAll() {
  if (!chat) return;
  const { history, current, session, people, topics } = chat;
  const me = session.username;
  const isCurrent = (/** @type {string} */ type, /** @type {string} */ name) =>
    current?.type === type && current.name === name;
  const unread = (/** @type {string} */ id) => history.get(id)?.unread ?? 0;
  const conversations = history.list();
  const total = conversations.reduce((sum, c) => sum + c.unread, 0);
  page.title = total > 0 ? `(${total}) Huayi IM` : "Huayi IM";

  // People: the window's page plus the conversations (those matching the search).
  const userNames = new Set(people.names);
  for (const c of conversations) {
    if (c.type === "user" && c.name.startsWith(people.query)) userNames.add(c.name);
  }
  userNames.delete(me);
  /** @param {string} name */
  const online = (name) => people.covers(name) ? people.online.has(name) : undefined;
  const users = [...userNames].sort((a, b) =>
    Number(online(b) ?? false) - Number(online(a) ?? false) || (a < b ? -1 : a > b ? 1 : 0)
  );
  renderUsers(
    $.users,
    users.map((name) => ({
      name,
      online: online(name),
      unread: unread(conversationId("user", name)),
      current: isCurrent("user", name),
    })),
    (name) => openConversation("user", name),
  );
  $.usersCount.textContent = countLabel(people);
  $.usersMore.hidden = !people.canShowMore;

  const topicQuery = topics.query;
  const listed = new Set(topics.names);
  const topicNames = new Set(topics.names);
  for (const c of conversations) {
    if (c.type === "topic" && c.name.startsWith(topicQuery)) topicNames.add(c.name);
  }
  /** @param {string} name */
  const exists = (name) =>
    !chat?.gone.has(name) && (!topics.covers(name) || listed.has(name) || history.isJoined(name));
  renderTopics(
    $.topics,
    [...topicNames].sort().map((name) => ({
      name,
      exists: exists(name),
      joined: history.isJoined(name),
      unread: unread(conversationId("topic", name)),
      current: isCurrent("topic", name),
    })),
    (name) => openConversation("topic", name),
  );
  $.topicsCount.textContent = countLabel(topics);
  $.topicsMore.hidden = !topics.canShowMore;

  renderOlderButton();
  if (!current) {
    $.title.textContent = "Pick someone or a topic";
    $.topicActions.hidden = true;
    renderEntries($.messages, "", [], me);
    $.compose.disabled = $.send.disabled = true;
    return;
  }
  $.title.textContent = current.type === "topic" ? `# ${current.name}` : `@ ${current.name}`;
  $.topicActions.hidden = current.type !== "topic";
  if (current.type === "topic") {
    const joined = history.isJoined(current.name);
    $.join.hidden = joined;
    $.quit.hidden = !joined;
  }
  const id = conversationId(current.type, current.name);
  renderEntries($.messages, id, history.get(id)?.entries ?? [], me);
}

/**
 * "(50 of 301)" while a list shows only part of the server's names (without a
 * search, where the server's total counts the same names); else nothing.
 *
 * @param {Directory} directory
 */
function countLabel(directory) {
  if (!directory.more || directory.query !== "") return "";
  return `(${directory.names.length} of ${directory.total})`;
}

/**
 * Shows more of a list (the next page from the server).
 *
 * @param {"people" | "topics"} which
 */
export async function showMore(which) {
  const current = chat;
  if (!current) return;
  current[which].showMore();
  await refresh();
}

/**
 * Narrows a list to the names starting with `query` (asked from the server).
 *
 * @param {"people" | "topics"} which
 * @param {string} query
 */
export async function search(which, query) {
  const current = chat;
  if (!current || !current[which].setQuery(query)) return;
  renderAll();
  await refresh();
}

/**
 * A failure's message for the screen.
 *
 * @param {unknown} error
 */
export function reason(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A JSON value from storage, or null when absent or not JSON.
 *
 * @param {Storage} storage
 * @param {string} key
 * @returns {any}
 */
export function readJson(storage, key) {
  try {
    return JSON.parse(storage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}
