// @ts-check
/**
 * The Huayi IM web client: wires the login screen, the lists, the open
 * conversation and the connection together. It speaks only the public
 * contract, like any other client.
 *
 * @module
 */

import { Api, ApiError, login } from "./api.js";
import { Connection } from "./connection.js";
import { conversationId, History } from "./history.js";
import { mentionsIn, page, renderEntries, renderTopics, renderUsers } from "./view.js";

const SESSION_KEY = "huayi-im:session";
const OPEN_KEY = "huayi-im:open";
const LAST_NAME_KEY = "huayi-im:last-username";
const NAME = /^[a-zA-Z0-9_-]{4,30}$/;
// Presence and topics have no push in the contract, so the lists are polled.
const REFRESH_MS = 5000;

const ENDED = {
  4000: "You were logged out.",
  4001: "You signed in somewhere else, so this window was signed out.",
};

/** @typedef {import("./dom.d.ts").DomControl} DomControl */

/** @param {string} id */
const byId = (id) => /** @type {DomControl} */ (page.getElementById(id));
const $ = {
  loginScreen: byId("login-screen"),
  loginForm: byId("login-form"),
  loginName: byId("login-username"),
  loginMessage: byId("login-message"),
  loginSubmit: byId("login-submit"),
  chatScreen: byId("chat-screen"),
  state: byId("connection-state"),
  me: byId("me"),
  logout: byId("logout"),
  users: byId("user-list"),
  topics: byId("topic-list"),
  topicForm: byId("topic-create"),
  topicName: byId("topic-create-name"),
  sidebarError: byId("sidebar-error"),
  back: byId("back"),
  title: byId("conversation-title"),
  topicActions: byId("topic-actions"),
  join: byId("topic-join"),
  quit: byId("topic-quit"),
  remove: byId("topic-delete"),
  messages: byId("message-list"),
  composeError: byId("compose-error"),
  composeForm: byId("compose-form"),
  compose: byId("compose"),
  send: byId("send"),
};

/**
 * Everything that belongs to the logged-in user; null on the login screen.
 *
 * @typedef {object} Chat
 * @property {{sid: string, username: string}} session
 * @property {Api} api
 * @property {History} history
 * @property {Connection} connection
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

function boot() {
  const saved = readJson(sessionStorage, SESSION_KEY);
  if (saved && typeof saved.sid === "string" && typeof saved.username === "string") {
    enterChat({ sid: saved.sid, username: saved.username });
  } else {
    showLogin("");
  }
  $.loginForm.addEventListener("submit", onLogin);
  $.logout.addEventListener("click", onLogout);
  $.topicForm.addEventListener("submit", onCreateTopic);
  $.composeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    onSend();
  });
  $.compose.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      onSend();
    }
  });
  $.back.addEventListener("click", () => {
    if (chat) chat.current = null;
    sessionStorage.removeItem(OPEN_KEY);
    page.body.dataset.view = "list";
    renderAll();
  });
  $.join.addEventListener("click", () => topicAction("join"));
  $.quit.addEventListener("click", () => topicAction("quit"));
  $.remove.addEventListener("click", onDeleteClick);
  addEventListener("online", () => chat?.connection.retryNow());
  addEventListener("pagehide", () => chat?.history.flush());
}

/** @param {string} message */
function showLogin(message) {
  $.chatScreen.hidden = true;
  $.loginScreen.hidden = false;
  page.body.dataset.screen = "login";
  $.loginMessage.textContent = message;
  $.loginName.value = localStorage.getItem(LAST_NAME_KEY) ?? "";
  $.loginName.focus();
}

/** @param {Event} event */
async function onLogin(event) {
  event.preventDefault();
  const username = $.loginName.value.trim();
  if (!NAME.test(username)) {
    $.loginMessage.textContent = "A name is 4 to 30 letters, digits, _ or -.";
    return;
  }
  $.loginMessage.textContent = "";
  // A second login while the first is under way would replace its session.
  if ($.loginSubmit.disabled || chat) return;
  $.loginSubmit.disabled = true;
  try {
    enterChat(await login(username));
  } catch (error) {
    $.loginMessage.textContent = `Could not log in: ${reason(error)}`;
  } finally {
    $.loginSubmit.disabled = false;
  }
}

/** @param {{sid: string, username: string}} session */
function enterChat(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  localStorage.setItem(LAST_NAME_KEY, session.username);
  // Callbacks of a connection that is no longer the current one do nothing.
  /** @returns {boolean} */
  const mine = () => chat?.connection === connection;
  /** @type {Connection} */
  const connection = new Connection(session.sid, {
    username: session.username,
    onFrame: (frame) => mine() && receive(frame),
    onState: (state, retryInMs) => mine() && showState(state, retryInMs),
    onEnded: (code, why) => mine() && endSession(ENDED[/** @type {4000 | 4001} */ (code)] ?? why),
    renewSid: () => mine() ? renewSid() : Promise.resolve(null),
  });
  chat = {
    session,
    api: new Api(session.sid),
    history: new History(session.username),
    connection,
    wasConnected: false,
    refresher: setInterval(refresh, REFRESH_MS),
    current: null,
    users: [],
    online: new Set(),
    serverTopics: new Set(),
    sending: Promise.resolve(),
  };
  $.loginScreen.hidden = true;
  $.chatScreen.hidden = false;
  page.body.dataset.screen = "chat";
  $.me.textContent = session.username;
  const open = readJson(sessionStorage, OPEN_KEY);
  if (open && (open.type === "user" || open.type === "topic") && typeof open.name === "string") {
    openConversation(open.type, open.name);
  } else {
    page.body.dataset.view = "list";
    renderAll();
  }
  connection.start();
  refresh();
}

/** @param {string} message */
function endSession(message) {
  if (!chat) return;
  chat.connection.stop();
  clearInterval(chat.refresher);
  chat.history.flush();
  chat = null;
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(OPEN_KEY);
  page.title = "Huayi IM";
  renderEntries($.messages, "", [], "");
  $.users.replaceChildren();
  $.topics.replaceChildren();
  showLogin(message);
}

async function onLogout() {
  if (!chat) return;
  const { api } = chat;
  chat.connection.stop();
  endSession("You logged out.");
  try {
    await api.logout();
  } catch {
    // The session is forgotten here either way.
  }
}

// Before each reconnect: keep a live session, end a dead one, and log in
// again when the server lost it while this page was connected (a restart:
// the server keeps sessions in memory only).
async function renewSid() {
  const current = chat;
  if (!current) return null;
  try {
    await current.api.users(false);
    return current.session.sid;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  if (!current.wasConnected) {
    endSession("Your session has ended. Please log in again.");
    return null;
  }
  const session = await login(current.session.username);
  if (chat !== current) return null;
  current.session = session;
  current.api = new Api(session.sid);
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session.sid;
}

/**
 * @param {import("./connection.js").ConnectionState} state
 * @param {number} [retryInMs]
 */
function showState(state, retryInMs) {
  $.state.dataset.state = state;
  const seconds = Math.max(1, Math.round((retryInMs ?? 0) / 1000));
  $.state.textContent = {
    connecting: "Connecting…",
    open: "Connected",
    reconnecting: `Reconnecting in ${seconds} s…`,
    closed: "Offline",
  }[state];
  if (state === "open" && chat) {
    chat.wasConnected = true;
    refresh();
  }
}

async function refresh() {
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

/** @param {Record<string, any>} frame */
function receive(frame) {
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
 * @param {"user" | "topic"} type
 * @param {string} name
 */
function openConversation(type, name) {
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

function renderAll() {
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

function onSend() {
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

/** @param {Event} event */
async function onCreateTopic(event) {
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

/** @param {"join" | "quit" | "delete"} action */
async function topicAction(action) {
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

// Deleting is for everyone and cannot be undone, so it takes a second click.
/** @type {ReturnType<typeof setTimeout> | undefined} */
let confirmTimer;
function onDeleteClick() {
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

/** @param {unknown} error */
function reason(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * @param {Storage} storage
 * @param {string} key
 * @returns {any}
 */
function readJson(storage, key) {
  try {
    return JSON.parse(storage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}

boot();
