// @ts-check
/**
 * Builds the DOM of lists and messages. Everything that came from the server
 * or another user is put in text nodes or attributes, never parsed as HTML,
 * so a message like `<img onerror=...>` shows its characters and runs nothing.
 *
 * @module
 */

/** @typedef {import("./history.js").Entry} Entry */
/** @typedef {import("./dom.d.ts").DomElement} DomElement */

/** The page's document (typed by ./dom.d.ts, see there why). */
export const page = /** @type {import("./dom.d.ts").DomDocument} */ (
  /** @type {any} */ (globalThis).document
);

/**
 * @typedef {object} ListItem
 * @property {string} name
 * @property {number} unread
 * @property {boolean} current The conversation is open.
 * @property {boolean} [online] Users only.
 * @property {boolean} [exists] Topics only: the server still lists it.
 * @property {boolean} [joined] Topics only.
 */

/**
 * Creates an element. String children become text nodes.
 *
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {(DomElement | string)[]} children
 * @returns {DomElement}
 */
export function el(tag, attributes = {}, ...children) {
  const element = page.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/**
 * Renders the people list.
 *
 * @param {DomElement} list
 * @param {ListItem[]} items
 * @param {(name: string) => void} open
 */
export function renderUsers(list, items, open) {
  list.replaceChildren(...items.map((item) => {
    const status = item.online ? "online" : "offline";
    const button = el(
      "button",
      {
        type: "button",
        "data-testid": "user-item",
        "data-username": item.name,
        "aria-current": String(item.current),
        "aria-label": `${item.name}, ${status}${unreadLabel(item.unread)}`,
      },
      el("span", { class: "dot", "data-online": String(Boolean(item.online)) }),
      el("span", { class: "name" }, item.name),
      ...badge(item.unread),
    );
    button.addEventListener("click", () => open(item.name));
    return el("li", {}, button);
  }));
}

/**
 * Renders the topic list.
 *
 * @param {DomElement} list
 * @param {ListItem[]} items
 * @param {(name: string) => void} open
 */
export function renderTopics(list, items, open) {
  list.replaceChildren(...items.map((item) => {
    const state = item.exists ? (item.joined ? "joined" : "not joined") : "gone";
    const button = el(
      "button",
      {
        type: "button",
        class: item.exists ? "" : "gone",
        "data-testid": "topic-item",
        "data-topic": item.name,
        "data-joined": String(Boolean(item.joined)),
        "aria-current": String(item.current),
        "aria-label": `topic ${item.name}, ${state}${unreadLabel(item.unread)}`,
      },
      el("span", { class: "hash", "aria-hidden": "true" }, "#"),
      el("span", { class: "name" }, item.name),
      ...(item.exists && item.joined ? [el("span", { class: "tag" }, "joined")] : []),
      ...badge(item.unread),
    );
    button.addEventListener("click", () => open(item.name));
    return el("li", {}, button);
  }));
}

/** @type {WeakMap<DomElement, {key: string, first: Entry | undefined, count: number}>} */
const shown = new WeakMap();

/**
 * Renders a conversation's entries. When the same conversation only grew,
 * just the new entries are appended, so a burst of messages stays cheap and
 * a screen reader announces only what is new.
 *
 * @param {DomElement} list
 * @param {string} key Which conversation the entries belong to.
 * @param {Entry[]} entries
 * @param {string} me
 */
export function renderEntries(list, key, entries, me) {
  const before = shown.get(list);
  const grew = before?.key === key && before.first === entries[0] && entries.length >= before.count;
  if (grew && before.count === entries.length) return;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  if (grew) {
    list.append(...entries.slice(before.count).map((entry) => renderEntry(entry, me)));
  } else {
    list.replaceChildren(...entries.map((entry) => renderEntry(entry, me)));
  }
  shown.set(list, { key, first: entries[0], count: entries.length });
  const newest = entries[entries.length - 1];
  // Keep the reader's place when they scrolled up, unless they wrote the new entry.
  if (!grew || nearBottom || (newest?.kind === "message" && newest.from === me)) {
    list.scrollTop = list.scrollHeight;
  }
}

/**
 * @param {Entry} entry
 * @param {string} me
 * @returns {DomElement}
 */
function renderEntry(entry, me) {
  if (entry.kind === "notice") {
    return el("li", { class: "system-notice", "data-testid": "system-notice" }, entry.text);
  }
  const mentionsMe = entry.topic !== "" && entry.to.includes(me);
  const classes = ["message", entry.from === me ? "mine" : "", mentionsMe ? "mentions-me" : ""];
  return el(
    "li",
    {
      class: classes.join(" ").trim(),
      "data-testid": "message",
      "data-from": entry.from,
      "data-topic": entry.topic,
    },
    el(
      "div",
      { class: "meta" },
      el("span", { class: "from" }, entry.from),
      timeElement(entry.at),
      ...(entry.topic && entry.to.length > 0
        ? [el("span", { class: "to" }, `to ${entry.to.map((name) => `@${name}`).join(" ")}`)]
        : []),
    ),
    el("p", { class: "text" }, ...highlightMentions(entry.content, entry.topic ? entry.to : [])),
  );
}

/**
 * @param {number} at
 * @returns {DomElement}
 */
function timeElement(at) {
  const date = new Date(at);
  const short = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return el("time", { datetime: date.toISOString(), title: date.toLocaleString() }, short);
}

/**
 * Splits the text into text nodes, wrapping `@name` of a mentioned user in a mark.
 *
 * @param {string} content
 * @param {string[]} mentions
 * @returns {(DomElement | string)[]}
 */
function highlightMentions(content, mentions) {
  if (mentions.length === 0) return [content];
  /** @type {(DomElement | string)[]} */
  const parts = [];
  let last = 0;
  for (const match of content.matchAll(MENTION)) {
    const start = (match.index ?? 0) + match[1].length;
    if (!mentions.includes(match[2])) continue;
    parts.push(content.slice(last, start));
    parts.push(el("span", { class: "mention" }, `@${match[2]}`));
    last = start + 1 + match[2].length;
  }
  parts.push(content.slice(last));
  return parts;
}

/** An `@name` not glued to a word before or after it. */
export const MENTION = /(^|[^a-zA-Z0-9_-])@([a-zA-Z0-9_-]{4,30})(?![a-zA-Z0-9_-])/g;

/**
 * The distinct names mentioned in a text, without the author.
 *
 * @param {string} content
 * @param {string} me
 * @returns {string[]}
 */
export function mentionsIn(content, me) {
  const names = [...content.matchAll(MENTION)].map((match) => match[2]);
  return [...new Set(names)].filter((name) => name !== me);
}

/**
 * @param {number} unread
 * @returns {DomElement[]}
 */
function badge(unread) {
  if (unread <= 0) return [];
  return [
    el("span", { class: "badge", "data-testid": "unread", "aria-hidden": "true" }, `${unread}`),
  ];
}

/** @param {number} unread */
function unreadLabel(unread) {
  return unread > 0 ? `, ${unread} unread` : "";
}
