// @ts-check
/**
 * The Huayi IM web client's entry point: the login screen in each of the
 * server's auth modes (see auth.js), the session's life (log in, reload, log
 * out, ended elsewhere, lost in a server restart), which person this tab is,
 * and the connection state. It speaks only the public contract, like any
 * other client.
 *
 * @module
 */

import { onCreateTopic, onDeleteClick, onSend, topicAction } from "./actions.js";
import { Api, ApiError, login, register, serverAuthMode } from "./api.js";
import { learnMode, passwordProblem, renderLoginForm, takeHandedToken } from "./auth.js";
import {
  activeChat,
  checkNumbering,
  directories,
  hideResumeNotice,
  loadOlder,
  NAME,
  onMessagesScroll,
  OPEN_KEY,
  openConversation,
  readJson,
  reason,
  receive,
  refresh,
  renderAll,
  search,
  setActiveChat,
  showMore,
} from "./chat.js";
import {
  forgetSession,
  heldElsewhere,
  holdPerson,
  readSession,
  saveSession,
  SESSION_KEY,
} from "./tab_session.js";
import { Connection } from "./connection.js";
import { $ } from "./elements.js";
import { History } from "./history.js";
import { page, renderEntries } from "./view.js";

const LAST_NAME_KEY = "huayi-im:last-username";
// Presence and topics have no push in the contract, so the visible pages of them are polled.
const REFRESH_MS = 5000;
// Typing in a search box asks the server once the typing pauses this long.
const SEARCH_DELAY_MS = 250;

const ENDED = {
  4000: "You were logged out.",
  4001: "You signed in somewhere else, so this window was signed out.",
};
const WRONG_PASSWORD = "Wrong username or password.";
const BAD_LINK = "The sign-in link from your application did not work (it may have expired). " +
  "Open the chat from your application again.";

/** @typedef {import("./api.js").AuthMode} AuthMode */
/** @typedef {import("./api.js").Session} Session */

/**
 * What this page knows of the server's auth mode; undefined until learned
 * (see auth.js).
 *
 * @type {AuthMode | undefined}
 */
let authMode;
/** Password mode: the login form creates an account instead of logging in. */
let registering = false;
/** Counts the times the login screen was asked for, so a slower earlier probe changes nothing. */
let loginTurn = 0;

/** A refusal to show on the login screen as it is. */
class LoginRefused extends Error {}

function boot() {
  // First of all: the token leaves the address bar before anything can read or send it.
  const handed = takeHandedToken();
  $.loginForm.addEventListener("submit", onLogin);
  $.loginSwitch.addEventListener("click", () => {
    registering = !registering;
    $.loginMessage.textContent = "";
    renderLoginForm(authMode ?? "open", registering);
    $.loginName.focus();
  });
  $.logout.addEventListener("click", onLogout);
  $.topicForm.addEventListener("submit", onCreateTopic);
  $.topicName.addEventListener(
    "input",
    debounce(() => search("topics", $.topicName.value.trim())),
  );
  $.userSearch.addEventListener(
    "input",
    debounce(() => search("people", $.userSearch.value.trim())),
  );
  $.userSearchForm.addEventListener("submit", onUserSearchSubmit);
  $.usersMore.addEventListener("click", () => showMore("people"));
  $.topicsMore.addEventListener("click", () => showMore("topics"));
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
  $.messages.addEventListener("scroll", onMessagesScroll);
  $.loadOlder.addEventListener("click", () => loadOlder());
  $.resumeDismiss.addEventListener("click", hideResumeNotice);
  addEventListener("online", () => activeChat()?.connection.retryNow());
  addEventListener("pagehide", () => activeChat()?.history.flush());
  // The application may hand a new token to a page that is open already (a
  // link that differs only after the #), which does not load the page again.
  addEventListener("hashchange", onHashChange);
  if (handed) {
    tokenLogin(handed.username, handed.token);
    return;
  }
  pickSession().then(({ session, message, name }) => {
    if (session) enterChat(session);
    else showLogin(message, name);
  });
}

/** A token handed over to the open page: it signs in whoever it names. */
function onHashChange() {
  const handed = takeHandedToken();
  if (!handed) return;
  const left = leaveChat();
  // Someone else's session would live on at the server, unused: end it.
  if (left && left.session.username !== handed.username) left.api.logout().catch(() => {});
  tokenLogin(handed.username, handed.token);
}

/**
 * Logs in with the token the embedding application handed over. It replaces
 * whatever session this tab had: the application says who this is.
 *
 * @param {string} username
 * @param {string} token
 */
async function tokenLogin(username, token) {
  ++loginTurn;
  authMode = "token";
  $.loginScreen.hidden = true;
  $.chatScreen.hidden = true;
  if (!NAME.test(username) || !token) {
    showLogin(BAD_LINK);
    return;
  }
  try {
    enterChat({ ...await login(username, { token }), auth: "token" });
  } catch (error) {
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 400);
    showLogin(refused ? BAD_LINK : `Could not log in: ${reason(error)}`);
  }
}

// Which person this tab is. Each tab keeps its own session in sessionStorage,
// so a reload keeps it and two tabs can be two people. A brand-new tab
// starts as the person last logged in (kept in localStorage), unless another
// tab of this browser has that person open: one user has one session at a
// time, so taking it would sign the other tab out. Tabs tell through a Web
// Lock per person, held while the tab is chatting as them. Where Web Locks
// are missing (a page not served from localhost or https) a new tab cannot
// tell, so it offers the name on the login screen instead.
/**
 * @returns {Promise<{session: Session | null, message: string, name?: string}>}
 */
async function pickSession() {
  const own = readSession(sessionStorage);
  const candidate = own ?? readSession(localStorage);
  if (!candidate) return { session: null, message: "" };
  const held = await heldElsewhere(candidate.username);
  if (held === true) {
    // A duplicated tab copies sessionStorage: the person stays in the first tab.
    if (own) sessionStorage.removeItem(SESSION_KEY);
    // A token session says the server is in token mode (see auth.js).
    if (candidate.auth === "token") authMode = "token";
    return {
      session: null,
      message: `${candidate.username} is signed in in another tab of this browser. ` +
        (candidate.auth === "token"
          ? "To be someone else here, open the chat from your application."
          : "Log in here as someone else (or as them, to move them to this tab)."),
      name: "",
    };
  }
  if (held === undefined && !own) {
    return { session: null, message: "", name: candidate.username };
  }
  return { session: candidate, message: "" };
}

/**
 * Shows the login screen for the server's mode, once it is known (see
 * auth.js): until then neither screen shows, so no wrong form flashes.
 *
 * @param {string} message
 * @param {string} [name] The name to offer in the form.
 */
async function showLogin(message, name = localStorage.getItem(LAST_NAME_KEY) ?? "") {
  const turn = ++loginTurn;
  $.chatScreen.hidden = true;
  page.body.dataset.screen = "login";
  $.loginPassword.value = "";
  registering = false;
  const mode = await learnMode(authMode);
  if (turn !== loginTurn || activeChat()) return;
  authMode = mode;
  renderLoginForm(mode, registering);
  $.loginScreen.hidden = false;
  $.loginMessage.textContent = message;
  $.loginName.value = name;
  $.loginName.focus();
}

/** @param {Event} event */
async function onLogin(event) {
  event.preventDefault();
  if (authMode === "token") return;
  const username = $.loginName.value.trim();
  const password = $.loginPassword.value;
  const withPassword = authMode === "password";
  const creating = withPassword && registering;
  const problem = !NAME.test(username)
    ? "A name is 4 to 30 letters, digits, _ or -."
    : withPassword && !password
    ? "Enter your password."
    : creating
    ? passwordProblem(password)
    : undefined;
  if (problem) {
    $.loginMessage.textContent = problem;
    return;
  }
  $.loginMessage.textContent = "";
  // A second login while the first is under way would replace its session.
  if ($.loginSubmit.disabled || activeChat()) return;
  $.loginSubmit.disabled = true;
  $.loginSwitch.disabled = true;
  try {
    const session = withPassword
      ? await passwordLogin(username, password, creating)
      : await nameLogin(username);
    $.loginPassword.value = "";
    enterChat(session);
  } catch (error) {
    $.loginMessage.textContent = error instanceof LoginRefused
      ? error.message
      : `Could not log in: ${reason(error)}`;
  } finally {
    $.loginSubmit.disabled = false;
    $.loginSwitch.disabled = false;
  }
}

/**
 * Logs in with a name alone. Open mode refuses no name, so a 401 says the
 * server's mode changed since the page asked: it asks again which it is.
 *
 * @param {string} username
 * @returns {Promise<Session>}
 */
async function nameLogin(username) {
  try {
    return { ...await login(username), auth: "open" };
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  const mode = await serverAuthMode();
  if (mode === undefined || mode === "open") {
    throw new LoginRefused("This server needs more than a name, and did not say what. Try again.");
  }
  authMode = mode;
  renderLoginForm(authMode, registering);
  if (mode === "password") {
    $.loginPassword.focus();
    throw new LoginRefused("This server needs a password: enter yours, or create an account.");
  }
  throw new LoginRefused("A name alone does not sign you in on this server.");
}

/**
 * Password mode: logs in, or creates the account and then logs in.
 *
 * @param {string} username
 * @param {string} password
 * @param {boolean} creating
 * @returns {Promise<Session>}
 */
async function passwordLogin(username, password, creating) {
  if (creating) {
    try {
      await register(username, password);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409) {
        throw new LoginRefused(
          `The name ${username} is taken. Pick another one, or log in if it is yours.`,
        );
      }
      if (error.status === 400) {
        throw new LoginRefused(`Could not create the account: ${error.message}.`);
      }
      if (error.status === 404) {
        // The server no longer takes accounts: show the form for what it does take.
        authMode = await learnMode(undefined);
        registering = false;
        renderLoginForm(authMode, registering);
        throw new LoginRefused("This server does not take new accounts.");
      }
      throw error;
    }
    // The account exists now: trying again logs in rather than registers.
    registering = false;
    renderLoginForm("password", registering);
  }
  try {
    return { ...await login(username, { password }), auth: "password" };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw new LoginRefused(WRONG_PASSWORD);
    throw error;
  }
}

/** @param {Session} session */
function enterChat(session) {
  ++loginTurn;
  authMode = session.auth;
  saveSession(session);
  localStorage.setItem(LAST_NAME_KEY, session.username);
  // Callbacks of a connection that is no longer the current one do nothing.
  /** @returns {boolean} */
  const mine = () => activeChat()?.connection === connection;
  const connection = new Connection({
    username: session.username,
    onFrame: (frame) => mine() && receive(frame),
    onState: (state, retryInMs) => mine() && showState(state, retryInMs),
    onEnded: (code, why) => mine() && endSession(ENDED[/** @type {4000 | 4001} */ (code)] ?? why),
    prepare: () => mine() ? prepare() : Promise.resolve(null),
  });
  /** @type {import("./chat.js").Chat} */
  const chat = {
    session,
    api: new Api(session.sid),
    history: new History(session.username),
    connection,
    wasConnected: false,
    refresher: setInterval(refresh, REFRESH_MS),
    current: null,
    ...directories(() => chat.api),
    gone: new Set(),
    sending: Promise.resolve(),
    resume: null,
    renumbered: false,
    synced: new Set(),
    loading: new Set(),
    release: holdPerson(session.username),
  };
  setActiveChat(chat);
  $.loginScreen.hidden = true;
  $.chatScreen.hidden = false;
  page.body.dataset.screen = "chat";
  $.me.textContent = session.username;
  const open = readJson(sessionStorage, OPEN_KEY);
  if (open && (open.type === "user" || open.type === "topic") && NAME.test(open.name)) {
    openConversation(open.type, open.name);
  } else {
    page.body.dataset.view = "list";
    renderAll();
  }
  connection.start();
  refresh();
}

/**
 * Ends this tab's session and shows the login screen.
 *
 * @param {string} message
 */
function endSession(message) {
  if (leaveChat()) showLogin(message);
}

/**
 * Puts the chat away and forgets its session here (the server is not told).
 *
 * @returns {import("./chat.js").Chat | null} The chat that was on screen.
 */
function leaveChat() {
  const chat = activeChat();
  if (!chat) return null;
  chat.connection.stop();
  clearInterval(chat.refresher);
  chat.history.flush();
  chat.release();
  setActiveChat(null);
  forgetSession(chat.session.sid);
  sessionStorage.removeItem(OPEN_KEY);
  page.title = "Huayi IM";
  renderEntries($.messages, "", [], "");
  $.users.replaceChildren();
  $.topics.replaceChildren();
  $.userSearch.value = "";
  $.topicName.value = "";
  hideResumeNotice();
  return chat;
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

/**
 * Before each socket: keep a live session, end a dead one, and log in again
 * when the server lost it while this page was connected (a restart: the
 * memory store keeps sessions in memory only). Then resume after the
 * cursor, once the server is known to number the mailbox as the cache does.
 *
 * @returns {Promise<import("./connection.js").Attempt | null>}
 */
async function prepare() {
  const current = activeChat();
  if (!current) return null;
  try {
    await checkNumbering(current);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    // Only a name is kept: a password or a token session cannot be made again here.
    if (!current.wasConnected || current.session.auth !== "open") {
      endSession("Your session has ended. Please log in again.");
      return null;
    }
    /** @type {Session} */
    let session;
    try {
      session = { ...await login(current.session.username), auth: "open" };
    } catch (error) {
      // The server now wants a password or a token (it restarted in another mode).
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      if (activeChat() === current) endSession("Your session has ended. Please log in again.");
      return null;
    }
    if (activeChat() !== current) return null;
    current.session = session;
    current.api = new Api(session.sid);
    saveSession(session);
    await checkNumbering(current);
  }
  if (activeChat() !== current) return null;
  return { sid: current.session.sid, since: current.history.cursor };
}

/**
 * Enter in the people search opens a conversation with the name typed (the
 * contract lets anyone be written to, even before their first login), or
 * with the first person listed.
 *
 * @param {Event} event
 */
function onUserSearchSubmit(event) {
  event.preventDefault();
  const chat = activeChat();
  if (!chat) return;
  const name = $.userSearch.value.trim();
  const first = chat.people.names.find((n) => n !== chat.session.username);
  if (NAME.test(name)) openConversation("user", name);
  else if (first) openConversation("user", first);
}

/**
 * @param {() => void} action
 * @returns {() => void} Calls `action` once calls to it pause for SEARCH_DELAY_MS.
 */
function debounce(action) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, SEARCH_DELAY_MS);
  };
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
