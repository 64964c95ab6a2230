// @ts-check
/**
 * The logged-in user's chat: its state, the frames that arrive, the lists
 * and the open conversation on screen, and what the user does there (send,
 * open, create, join, quit and delete topics).
 *
 * @module
 */

import { conversationId } from "./history.js";
import { $ } from "./elements.js";
import { mentionsIn, page, renderEntries, renderTopics, renderUsers } from "./view.js";

/** Where the open conversation is kept across a reload. */
export const OPEN_KEY = "huayi-im:open";
/** The contract's pattern for usernames and topics. */
export const NAME = /^[a-zA-Z0-9_-]{4,30}$/;

/**
 * Everything that belongs to the logged-in user; null on the login screen.
 *
 * @typedef {object} Chat
 * @property {{sid: string, username: string}} session
 * @property {import("./api.js").Api} api
 * @property {import("./history.js").History} history
 * @property {import("./connection.js").Connection} connection
 * @property {boolean} wasConnected A socket opened on this page, so a lost session means a server restart.
 * @property {ReturnType<typeof setInterval>} refresher
 * @property {{type: "user" | "topic", name: string} | null} current
 * @property {string[]} users
 * @property {Set<string>} online
 * @property {Set<string>} serverTopics
 * @property {Promise<void>} sending Sends run one after another so they keep their order.
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

/** Reloads the people and topic lists (the contract has no push for them). */
export async function refresh() {
  const current = chat;
  if (!current) return;
  try {
    const [users, online, topics] = await Promise.all([
      current.api.users(false),
      current.api.users(true),
      current.api.topics(),
    ]);
    if (chat !== current) return;
    current.users = users;
    current.online = new Set(online);
    current.serverTopics = new Set(topics);
    scheduleRender();
  } catch {
    // The connection decides what a lost session means; the lists just wait.
  }
}

/**
 * Files a chat or system frame into its conversation.
 *
 * @param {Record<string, any>} frame
 */
export function receive(frame) {
  if (!chat) return;
  const at = Date.now();
  if (frame["message-type"] === "message") {
    const topic = typeof frame.topic === "string" ? frame.topic : "";
    const from = String(frame.from ?? "");
    const to = Array.isArray(frame.to) ? frame.to.map(String) : [];
    const content = typeof frame.content === "string" ? frame.content : String(frame.content);
    const entry = { kind: /** @type {const} */ ("message"), from, to, topic, content, at };
    if (topic) {
      chat.history.setJoined(topic, true);
      add("topic", topic, entry);
    } else {
      add("user", from, entry);
    }
    return;
  }
  const topic = String(frame.content?.topic ?? "");
  if (frame.topic === "__topic_is_deleted__") {
    chat.history.setJoined(topic, false);
    add("topic", topic, { kind: "notice", text: `Topic “${topic}” was deleted.`, at });
    refresh();
  } else if (frame.topic === "__topic_not_found__") {
    add("topic", topic, { kind: "notice", text: `Topic “${topic}” does not exist.`, at });
    refresh();
  }
}

/**
 * @param {"user" | "topic"} type
 * @param {string} name
 * @param {import("./history.js").Entry} entry
 */
function add(type, name, entry) {
  if (!chat) return;
  const isOpen = chat.current?.type === type && chat.current.name === name;
  chat.history.add(type, name, entry, !isOpen);
  scheduleRender();
}

// Frames arrive one task each: coalescing their renders keeps a burst of
// offline messages from rebuilding the lists once per message.
/** @type {ReturnType<typeof setTimeout> | undefined} */
let renderTimer;
function scheduleRender() {
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    renderAll();
  }, 16);
}

/**
 * Shows a conversation, marks it read, and remembers it across a reload.
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
}

/** Redraws the lists and the open conversation from the state. */
export function renderAll() {
  if (!chat) return;
  const { history, current, session } = chat;
  const me = session.username;
  const isCurrent = (/** @type {string} */ type, /** @type {string} */ name) =>
    current?.type === type && current.name === name;
  const unread = (/** @type {string} */ id) => history.get(id)?.unread ?? 0;
  const conversations = history.list();
  const total = conversations.reduce((sum, c) => sum + c.unread, 0);
  page.title = total > 0 ? `(${total}) Huayi IM` : "Huayi IM";
  const userNames = new Set(chat.users);
  for (const c of conversations) if (c.type === "user") userNames.add(c.name);
  userNames.delete(me);
  const online = chat.online;
  const users = [...userNames].sort((a, b) =>
    Number(online.has(b)) - Number(online.has(a)) || a.localeCompare(b)
  );
  renderUsers(
    $.users,
    users.map((name) => ({
      name,
      online: online.has(name),
      unread: unread(conversationId("user", name)),
      current: isCurrent("user", name),
    })),
    (name) => openConversation("user", name),
  );
  const topicNames = new Set(chat.serverTopics);
  for (const c of conversations) if (c.type === "topic") topicNames.add(c.name);
  renderTopics(
    $.topics,
    [...topicNames].sort().map((name) => ({
      name,
      exists: chat?.serverTopics.has(name) ?? false,
      joined: history.isJoined(name),
      unread: unread(conversationId("topic", name)),
      current: isCurrent("topic", name),
    })),
    (name) => openConversation("topic", name),
  );
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

/** Sends what the compose box holds to the open conversation; `@name`s in a topic are mentions. */
export function onSend() {
  if (!chat?.current) return;
  const content = $.compose.value;
  if (content.trim() === "") return;
  const current = chat;
  const { type, name } = chat.current;
  const me = chat.session.username;
  const to = type === "topic" ? mentionsIn(content, me) : [name];
  const topic = type === "topic" ? name : "";
  $.compose.value = "";
  $.composeError.textContent = "";
  current.sending = current.sending.then(async () => {
    try {
      await current.api.send(me, to, topic, content);
    } catch (error) {
      if (chat !== current) return;
      $.composeError.textContent = `Not sent: ${reason(error)}`;
      if ($.compose.value === "") $.compose.value = content;
      return;
    }
    if (chat !== current) return;
    if (topic) current.history.setJoined(topic, true);
    add(type, name, { kind: "message", from: me, to, topic, content, at: Date.now() });
  });
}

/**
 * Creates the topic named in the sidebar form and opens it.
 *
 * @param {Event} event
 */
export async function onCreateTopic(event) {
  event.preventDefault();
  if (!chat) return;
  const current = chat;
  const name = $.topicName.value.trim();
  if (!NAME.test(name)) {
    $.sidebarError.textContent = "A topic name is 4 to 30 letters, digits, _ or -.";
    return;
  }
  try {
    await current.api.createTopic(name);
  } catch (error) {
    if (chat === current) $.sidebarError.textContent = `Could not create: ${reason(error)}`;
    return;
  }
  if (chat !== current) return;
  $.sidebarError.textContent = "";
  $.topicName.value = "";
  current.history.setJoined(name, true);
  current.serverTopics.add(name);
  openConversation("topic", name);
  refresh();
}

/**
 * Joins, quits or deletes the open topic.
 *
 * @param {"join" | "quit" | "delete"} action
 */
export async function topicAction(action) {
  const current = chat;
  if (!current?.current || current.current.type !== "topic") return;
  const topic = current.current.name;
  try {
    if (action === "join") await current.api.joinTopic(topic);
    else if (action === "quit") await current.api.quitTopic(topic);
    else await current.api.deleteTopic(topic);
  } catch (error) {
    if (chat === current) $.composeError.textContent = `Could not ${action}: ${reason(error)}`;
    return;
  }
  if (chat !== current) return;
  $.composeError.textContent = "";
  if (action !== "delete") current.history.setJoined(topic, action === "join");
  renderAll();
  refresh();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let confirmTimer;

/** Deletes the open topic on a second click: deleting is for everyone and cannot be undone. */
export function onDeleteClick() {
  if ($.remove.dataset.confirm !== "true") {
    $.remove.dataset.confirm = "true";
    $.remove.textContent = "Really delete?";
    confirmTimer = setTimeout(resetDelete, 4000);
    return;
  }
  resetDelete();
  topicAction("delete");
}

function resetDelete() {
  clearTimeout(confirmTimer);
  delete $.remove.dataset.confirm;
  $.remove.textContent = "Delete";
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
