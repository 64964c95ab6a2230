// @ts-check
/**
 * How this server lets people log in (`IM_AUTH`), and the login form for
 * each mode.
 *
 * - The server's health check names its mode (`GET /api/healthz` →
 *   `{"status":"ok","auth":"password"}`, an extension of the contract).
 * - A link from the embedding application, `/#token=<jwt>&user=<name>`, is
 *   token mode: the client logs in with the token at once.
 * - A tab whose session was made with a token shows the token screen again
 *   when that session ends.
 *
 * Whatever the client believed, every answer that contradicts it (a 401 in
 * open mode, a 404 from registering) makes it ask again.
 *
 * @module
 */

import { serverAuthMode } from "./api.js";
import { $ } from "./elements.js";

/** @typedef {import("./api.js").AuthMode} AuthMode */

/** The fewest and most characters of a password (the server's rules: code points after NFC). */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** What the login screen says in each mode (and while creating an account). */
const HINTS = {
  open: "Pick a name to chat with. No password: a name is 4 to 30 letters, digits, _ or -.",
  password: "Log in with your name and password.",
  register: "Pick a name (4 to 30 letters, digits, _ or -) and a password of " +
    `${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`,
  token: "This server signs people in through their application, not here: " +
    "open the chat from your application and it signs you in.",
};

/**
 * The server's mode, as it says it.
 *
 * @param {AuthMode | undefined} believed What this page knew so far.
 * @returns {Promise<AuthMode>}
 */
export async function learnMode(believed) {
  // Not reachable now: the next answers will correct a wrong belief.
  return await serverAuthMode() ?? believed ?? "open";
}

/**
 * Why the server would refuse this password for a new account, or undefined.
 *
 * @param {string} password
 * @returns {string | undefined}
 */
export function passwordProblem(password) {
  const length = [...password.normalize("NFC")].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    return `A password is ${PASSWORD_MIN} to ${PASSWORD_MAX} characters (this one has ${length}).`;
  }
  return undefined;
}

/**
 * A sign-in token handed over in the address, `#token=<jwt>&user=<name>`:
 * read once, then taken out of the address bar (and so out of the history,
 * bookmarks and copied links) before anything else runs. It is sent nowhere
 * but `POST /api/login`, and never stored.
 *
 * @returns {{token: string, username: string} | null}
 */
export function takeHandedToken() {
  const fragment = location.hash.replace(/^#/, "");
  if (!fragment) return null;
  const params = new URLSearchParams(fragment);
  if (!params.has("token")) return null;
  const history = /** @type {import("./dom.d.ts").DomHistory} */ (
    /** @type {any} */ (globalThis).history
  );
  history.replaceState(history.state, "", location.pathname + location.search);
  return { token: params.get("token") ?? "", username: (params.get("user") ?? "").trim() };
}

/**
 * Shows the login form for a mode: a name (open); a name and a password, and
 * the way to create an account (password); no form, only where to sign in
 * (token).
 *
 * @param {AuthMode} mode
 * @param {boolean} registering Password mode: the form creates an account.
 */
export function renderLoginForm(mode, registering) {
  const creating = mode === "password" && registering;
  $.loginForm.dataset.auth = mode;
  $.loginForm.dataset.intent = creating ? "register" : "login";
  $.nameField.hidden = mode === "token";
  $.loginSubmit.hidden = mode === "token";
  $.passwordField.hidden = mode !== "password";
  $.loginSwitch.hidden = mode !== "password";
  $.loginHint.textContent = HINTS[creating ? "register" : mode];
  $.loginSubmit.textContent = creating ? "Create account" : "Log in";
  $.loginSwitch.textContent = creating ? "I have an account: log in" : "Create an account";
  // Password managers offer a saved password to log in, and a new one to register.
  $.loginPassword.setAttribute("autocomplete", creating ? "new-password" : "current-password");
}
