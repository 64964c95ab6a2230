// @ts-check
/**
 * Where a tab keeps its session: `sessionStorage` for this tab and
 * `localStorage` as the default of a new one (the sid, the name and the
 * mode, never a password or token), and a Web Lock per person, held while
 * the tab chats as them, so a second tab does not take the first one's
 * person by accident.
 *
 * @module
 */

import { readJson } from "./chat.js";

/** @typedef {import("./api.js").Session} Session */

/** The storage key of the saved session. */
export const SESSION_KEY = "huayi-im:session";

/**
 * @param {Storage} storage
 * @returns {Session | null}
 */
export function readSession(storage) {
  const saved = readJson(storage, SESSION_KEY);
  if (saved && typeof saved.sid === "string" && typeof saved.username === "string") {
    // Sessions saved before the auth modes were open-mode ones.
    const auth = saved.auth === "password" || saved.auth === "token" ? saved.auth : "open";
    return { sid: saved.sid, username: saved.username, auth };
  }
  return null;
}

/** @returns {any} The Web Locks API, or undefined (outside a secure context). */
function locks() {
  return /** @type {any} */ (navigator).locks;
}

/** @param {string} username */
function lockName(username) {
  return `huayi-im:person:${username}`;
}

/**
 * Whether another tab of this browser has the person open; undefined when
 * this browser cannot tell.
 *
 * @param {string} username
 * @returns {Promise<boolean | undefined>}
 */
export async function heldElsewhere(username) {
  if (typeof locks()?.query !== "function") return undefined;
  try {
    const { held = [] } = await locks().query();
    return held.some((/** @type {{name: string}} */ lock) => lock.name === lockName(username));
  } catch {
    return undefined;
  }
}

/**
 * Claims the person for this tab until the returned function is called. A
 * tab that logs in as a person another tab holds takes the claim over (the
 * server signs the other tab out anyway).
 *
 * @param {string} username
 * @returns {() => void}
 */
export function holdPerson(username) {
  if (typeof locks()?.request !== "function") return () => {};
  /** @type {() => void} */
  let release = () => {};
  const held = new Promise((resolve) => release = () => resolve(undefined));
  // Taken over by another tab: the lock is gone, nothing else to do here.
  locks().request(lockName(username), { steal: true }, () => held).catch(() => {});
  return release;
}

/**
 * Keeps the sid, the name and the mode it was made in: never the password or the token.
 *
 * @param {Session} session
 */
export function saveSession(session) {
  const { sid, username, auth } = session;
  const text = JSON.stringify({ sid, username, auth });
  sessionStorage.setItem(SESSION_KEY, text);
  // The default for a brand-new tab.
  localStorage.setItem(SESSION_KEY, text);
}

/** @param {string} sid */
export function forgetSession(sid) {
  sessionStorage.removeItem(SESSION_KEY);
  // Another tab may have logged in since: only this session's own entry goes.
  if (readJson(localStorage, SESSION_KEY)?.sid === sid) localStorage.removeItem(SESSION_KEY);
}
