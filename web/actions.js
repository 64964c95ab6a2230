// @ts-check
/**
 * What the user does in a chat: send to the open conversation, and create,
 * join, quit and delete topics. Each action belongs to the chat it started
 * in: an answer that arrives after a logout or a new login leaves the
 * screen alone.
 *
 * @module
 */

import { ApiError } from "./api.js";
import { activeChat, NAME, openConversation, put, reason, refresh, renderAll } from "./chat.js";
import { $ } from "./elements.js";
import { mentionsIn } from "./view.js";

/** Sends what the compose box holds to the open conversation; `@name`s in a topic are mentions. */
export function onSend() {
  const current = activeChat();
  if (!current?.current) return;
  const content = $.compose.value;
  if (content.trim() === "") return;
  const { type, name } = current.current;
  const me = current.session.username;
  const to = type === "topic" ? mentionsIn(content, me) : [name];
  const topic = type === "topic" ? name : "";
  $.compose.value = "";
  $.composeError.textContent = "";
  current.sending = current.sending.then(async () => {
    let sent;
    try {
      sent = await current.api.send(me, to, topic, content);
    } catch (error) {
      if (activeChat() !== current) return;
      $.composeError.textContent = `Not sent: ${reason(error)}`;
      if ($.compose.value === "") $.compose.value = content;
      return;
    }
    if (activeChat() !== current) return;
    if (topic) {
      current.history.setJoined(topic, true);
      current.gone.delete(topic);
    }
    // Shown at once; the echo over the socket (same id) brings its seq.
    put(type, name, {
      kind: "message",
      id: sent.id,
      from: me,
      to,
      topic,
      content,
      at: sent.sentAt,
    });
  });
}

/**
 * Creates the topic named in the sidebar form and opens it; one that exists
 * already is opened (to read, or to join).
 *
 * @param {Event} event
 */
export async function onCreateTopic(event) {
  event.preventDefault();
  const current = activeChat();
  if (!current) return;
  const name = $.topicName.value.trim();
  if (!NAME.test(name)) {
    $.sidebarError.textContent = "A topic name is 4 to 30 letters, digits, _ or -.";
    return;
  }
  let created = true;
  try {
    await current.api.createTopic(name);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) {
      if (activeChat() === current) {
        $.sidebarError.textContent = `Could not create: ${reason(error)}`;
      }
      return;
    }
    created = false;
  }
  if (activeChat() !== current) return;
  $.sidebarError.textContent = "";
  $.topicName.value = "";
  current.topics.setQuery("");
  current.gone.delete(name);
  if (created) current.history.setJoined(name, true);
  openConversation("topic", name);
  refresh();
}

/**
 * Joins, quits or deletes the open topic.
 *
 * @param {"join" | "quit" | "delete"} action
 */
export async function topicAction(action) {
  const current = activeChat();
  if (!current?.current || current.current.type !== "topic") return;
  const topic = current.current.name;
  try {
    if (action === "join") await current.api.joinTopic(topic);
    else if (action === "quit") await current.api.quitTopic(topic);
    else await current.api.deleteTopic(topic);
  } catch (error) {
    if (activeChat() === current) {
      $.composeError.textContent = `Could not ${action}: ${reason(error)}`;
    }
    return;
  }
  if (activeChat() !== current) return;
  $.composeError.textContent = "";
  if (action === "delete") current.gone.add(topic);
  else current.history.setJoined(topic, action === "join");
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
