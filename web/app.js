// @ts-check
/**
 * The Huayi IM web client's entry point: the login screen, the session's life
 * (log in, reload, log out, ended elsewhere, lost in a server restart) and
 * the connection state. It speaks only the public contract, like any other
 * client.
 *
 * @module
 */

import { Api, ApiError, login } from "./api.js";
import {
  activeChat,
  NAME,
  onCreateTopic,
  onDeleteClick,
  onSend,
  OPEN_KEY,
  openConversation,
  readJson,
  reason,
  receive,
  refresh,
  renderAll,
  setActiveChat,
  topicAction,
} from "./chat.js";
import { Connection } from "./connection.js";
import { $ } from "./elements.js";
import { History } from "./history.js";
import { page, renderEntries } from "./view.js";

const SESSION_KEY = "huayi-im:session";
const LAST_NAME_KEY = "huayi-im:last-username";
// Presence and topics have no push in the contract, so the lists are polled.
const REFRESH_MS = 5000;

const ENDED = {
  4000: "You were logged out.",
  4001: "You signed in somewhere else, so this window was signed out.",
};

function boot() {
  const saved = loadSession();
  if (saved) enterChat(saved);
  else showLogin("");
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
    const chat = activeChat();
    if (chat) chat.current = null;
    sessionStorage.removeItem(OPEN_KEY);
    page.body.dataset.view = "list";
    renderAll();
  });
  $.join.addEventListener("click", () => topicAction("join"));
  $.quit.addEventListener("click", () => topicAction("quit"));
  $.remove.addEventListener("click", onDeleteClick);
  addEventListener("online", () => activeChat()?.connection.retryNow());
  addEventListener("pagehide", () => activeChat()?.history.flush());
}

// The session is kept in localStorage, so a reload, a new tab or a restarted
// browser finds it. This tab's own copy in sessionStorage is read first, so
// two tabs of one browser logged in as two people each keep their own
// person across a reload.
/** @returns {{sid: string, username: string} | null} */
function loadSession() {
  for (const storage of [sessionStorage, localStorage]) {
    const saved = readJson(storage, SESSION_KEY);
    if (saved && typeof saved.sid === "string" && typeof saved.username === "string") {
      return { sid: saved.sid, username: saved.username };
    }
  }
  return null;
}

/** @param {{sid: string, username: string}} session */
function saveSession(session) {
  const text = JSON.stringify(session);
  sessionStorage.setItem(SESSION_KEY, text);
  localStorage.setItem(SESSION_KEY, text);
}

/** @param {string} sid */
function forgetSession(sid) {
  sessionStorage.removeItem(SESSION_KEY);
  // Another tab may have logged in since: only this session's own entry goes.
  if (readJson(localStorage, SESSION_KEY)?.sid === sid) localStorage.removeItem(SESSION_KEY);
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
  if ($.loginSubmit.disabled || activeChat()) return;
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
  saveSession(session);
  localStorage.setItem(LAST_NAME_KEY, session.username);
  // Callbacks of a connection that is no longer the current one do nothing.
  /** @returns {boolean} */
  const mine = () => activeChat()?.connection === connection;
  /** @type {Connection} */
  const connection = new Connection(session.sid, {
    username: session.username,
    onFrame: (frame) => mine() && receive(frame),
    onState: (state, retryInMs) => mine() && showState(state, retryInMs),
    onEnded: (code, why) => mine() && endSession(ENDED[/** @type {4000 | 4001} */ (code)] ?? why),
    renewSid: () => mine() ? renewSid() : Promise.resolve(null),
  });
  setActiveChat({
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
  });
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
  const chat = activeChat();
  if (!chat) return;
  chat.connection.stop();
  clearInterval(chat.refresher);
  chat.history.flush();
  setActiveChat(null);
  forgetSession(chat.session.sid);
  sessionStorage.removeItem(OPEN_KEY);
  page.title = "Huayi IM";
  renderEntries($.messages, "", [], "");
  $.users.replaceChildren();
  $.topics.replaceChildren();
  showLogin(message);
}

async function onLogout() {
  const chat = activeChat();
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
  const current = activeChat();
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
  if (activeChat() !== current) return null;
  current.session = session;
  current.api = new Api(session.sid);
  saveSession(session);
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
  const chat = activeChat();
  if (state === "open" && chat) {
    chat.wasConnected = true;
    refresh();
  }
}

boot();
