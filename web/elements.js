// @ts-check
/**
 * The page's fixed elements, looked up once by id.
 *
 * @module
 */

import { page } from "./view.js";

/** @typedef {import("./dom.d.ts").DomControl} DomControl */

/** @param {string} id */
const byId = (id) => /** @type {DomControl} */ (page.getElementById(id));
/** The elements of index.html the client drives. */
export const $ = {
  loginScreen: byId("login-screen"),
  loginForm: byId("login-form"),
  loginHint: byId("login-hint"),
  nameField: byId("name-field"),
  loginName: byId("login-username"),
  passwordField: byId("password-field"),
  loginPassword: byId("login-password"),
  loginMessage: byId("login-message"),
  loginSubmit: byId("login-submit"),
  loginSwitch: byId("login-switch"),
  chatScreen: byId("chat-screen"),
  state: byId("connection-state"),
  me: byId("me"),
  resumeNotice: byId("resume-notice"),
  resumeText: byId("resume-text"),
  resumeDismiss: byId("resume-dismiss"),
  userSearchForm: byId("user-search-form"),
  userSearch: byId("user-search"),
  usersCount: byId("users-count"),
  usersMore: byId("users-more"),
  topicsCount: byId("topics-count"),
  topicsMore: byId("topics-more"),
  loadOlder: byId("load-older"),
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
