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
 * @property {boolean} [online] Users only; undefined when this client does not know.
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
  renderItems(list, items, open, (item) => {
    const status = item.online === undefined ? "" : item.online ? ", online" : ", offline";
    return {
      attributes: {
        type: "button",
        "data-testid": "user-item",
        "data-username": item.name,
        "aria-current": String(item.current),
        "aria-label": `${item.name}${status}${unreadLabel(item.unread)}`,
      },
      children: [
        el("span", { class: "dot", "data-online": String(item.online ?? "unknown") }),
        el("span", { class: "name" }, item.name),
        ...badge(item.unread),
      ],
    };
  });
}

/**
 * Renders the topic list.
 *
 * @param {DomElement} list
 * @param {ListItem[]} items
 * @param {(name: string) => void} open
 */
export function renderTopics(list, items, open) {
  renderItems(list, items, open, (item) => {
    const state = item.exists ? (item.joined ? "joined" : "not joined") : "gone";
    return {
      attributes: {
        type: "button",
        class: item.exists ? "" : "gone",
        "data-testid": "topic-item",
        "data-topic": item.name,
        "data-joined": String(Boolean(item.joined)),
        "aria-current": String(item.current),
        "aria-label": `topic ${item.name}, ${state}${unreadLabel(item.unread)}`,
      },
      children: [
        el("span", { class: "hash", "aria-hidden": "true" }, "#"),
        el("span", { class: "name" }, item.name),
        ...(item.exists && item.joined ? [el("span", { class: "tag" }, "joined")] : []),
        ...badge(item.unread),
      ],
    };
  });
}

/**
 * @typedef {object} Row One list item on screen: its `<li>`, its button, and what it shows.
 * @property {DomElement} li
 * @property {DomElement} button
 * @property {string} drawn The item it was last drawn from, as JSON.
 * @property {ListItem} item
 * @property {(name: string) => void} open
 */
/** @type {WeakMap<DomElement, Map<string, Row>>} */
const rows = new WeakMap();

/**
 * Renders a list of buttons keyed by name. A name keeps its button while it
 * stays listed (redrawn in place only when what it shows changed), so the
 * polls and arriving messages that redraw the lists never swap a button out
 * from under a click, nor move the keyboard focus.
 *
 * @param {DomElement} list
 * @param {ListItem[]} items
 * @param {(name: string) => void} open
 * @param {(item: ListItem) => {attributes: Record<string, string>, children: DomElement[]}} draw
 */
function renderItems(list, items, open, draw) {
  const before = rows.get(list) ?? new Map();
  /** @type {Map<string, Row>} */
  const after = new Map();
  for (const item of items) {
    let row = before.get(item.name);
    const drawn = JSON.stringify(item);
    if (!row) {
      const button = el("button");
      const created = { li: el("li", {}, button), button, drawn: "", item, open };
      button.addEventListener("click", () => created.open(created.item.name));
      row = created;
    }
    row.item = item;
    row.open = open;
    if (row.drawn !== drawn) {
      const { attributes, children } = draw(item);
      for (const [name, value] of Object.entries(attributes)) row.button.setAttribute(name, value);
      row.button.replaceChildren(...children);
      row.drawn = drawn;
    }
    after.set(item.name, row);
  }
  for (const [name, row] of before) if (!after.has(name)) row.li.remove();
  let next = list.firstElementChild;
  for (const row of after.values()) {
    if (next === row.li) next = next.nextElementSibling;
    else list.insertBefore(row.li, next);
  }
  rows.set(list, after);
}

/**
 * What each message list shows: the conversation, its entries in order and
 * their elements (an entry keeps its element while it stays on screen).
 *
 * @type {WeakMap<DomElement, {key: string, order: Entry[], elements: Map<Entry, DomElement>}>}
 */
const shown = new WeakMap();

/**
 * Renders a conversation's entries. Within one conversation only what
 * changed touches the DOM: new entries are inserted in their places (at the
 * end for new messages, at the top for older ones from history), so a burst
 * stays cheap and a screen reader announces only what is new. The view
 * follows new messages when the reader is at the bottom (or wrote the new
 * one), and otherwise keeps what they are reading in place, also when older
 * messages are put above it.
 *
 * @param {DomElement} list
 * @param {string} key Which conversation the entries belong to.
 * @param {Entry[]} entries
 * @param {string} me
 */
export function renderEntries(list, key, entries, me) {
  const before = shown.get(list);
  const same = before?.key === key;
  if (
    same && before.order.length === entries.length && before.order.every((e, i) => e === entries[i])
  ) {
    return;
  }
  const oldElements = same ? before.elements : new Map();
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const kept = new Set(entries);
  // The first entry on screen that stays: where the reader's place is measured from.
  const anchor = same ? oldElements.get(before.order.find((e) => kept.has(e))) : undefined;
  const anchorTop = anchor?.getBoundingClientRect().top ?? 0;

  if (!same) list.replaceChildren();
  /** @type {Map<Entry, DomElement>} */
  const elements = new Map();
  for (const entry of entries) {
    elements.set(entry, oldElements.get(entry) ?? renderEntry(entry, me));
  }
  for (const [entry, element] of oldElements) if (!elements.has(entry)) element.remove();
  let next = list.firstElementChild;
  for (const entry of entries) {
    const element = /** @type {DomElement} */ (elements.get(entry));
    if (next === element) next = next.nextElementSibling;
    else list.insertBefore(element, next);
  }
  shown.set(list, { key, order: [...entries], elements });

  const newest = entries[entries.length - 1];
  const newAtEnd = same && newest !== undefined && newest !== before.order[before.order.length - 1];
  const mine = newest?.kind === "message" && newest.from === me;
  if (!same || (newAtEnd && (nearBottom || mine))) {
    list.scrollTop = list.scrollHeight;
  } else if (anchor) {
    list.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
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
