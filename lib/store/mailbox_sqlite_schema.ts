/**
 * The tables of {@linkcode SqliteMailbox} and the SQL that reads them: a
 * message is one row however many mailboxes hold it; an entry is a small
 * `(box, seq)` row pointing at it.
 *
 * @module
 */

import type { Message, MessageKind } from "../protocol/messages.ts";
import type { Entry, HistoryQuery } from "./mailbox.ts";

/** The version of the tables below, recorded in the meta table. */
export const MAILBOX_SCHEMA_VERSION = 1;

/**
 * The mailbox tables. `boxes.id` is what entries store instead of the name;
 * `messages.id` is AUTOINCREMENT so an id is never reused, which lets a
 * topic purge stop at the newest message it was asked to remove.
 */
export const MAILBOX_SCHEMA = `
CREATE TABLE boxes (
  id INTEGER PRIMARY KEY,
  user TEXT NOT NULL UNIQUE,
  last_seq INTEGER NOT NULL,
  cursor INTEGER NOT NULL,
  lost_through INTEGER NOT NULL
);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipients TEXT NOT NULL,
  topic TEXT NOT NULL,
  content TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX messages_by_topic ON messages (topic) WHERE kind = 'topic';
CREATE TABLE entries (
  box INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  message INTEGER NOT NULL,
  own INTEGER NOT NULL,
  PRIMARY KEY (box, seq)
) WITHOUT ROWID;
CREATE INDEX entries_by_message ON entries (message);
CREATE TABLE receipts (
  sender TEXT NOT NULL,
  key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  message_id TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (sender, key)
) WITHOUT ROWID;
CREATE INDEX receipts_by_time ON receipts (sent_at);
`;

const utf8 = new TextDecoder();

/**
 * The columns of an entry joined with its message, as {@linkcode entryOf}
 * reads them. The text comes as bytes: SQLite keeps a NUL inside a TEXT
 * value, but node:sqlite hands a TEXT column back cut at the first NUL, and
 * `"\u0000"` is a valid JSON string a client may send.
 */
export const ENTRY_COLUMNS = "e.seq, e.own, m.message_id, m.sent_at, m.kind, m.sender, " +
  "m.recipients, m.topic, CAST(m.content AS BLOB) AS content";

/** A row selected with {@linkcode ENTRY_COLUMNS}. */
export interface EntryRow {
  seq: number;
  own: number;
  message_id: string;
  sent_at: number;
  kind: string;
  sender: string;
  recipients: string;
  topic: string;
  /** UTF-8. */
  content: Uint8Array;
}

/**
 * The entry of a row selected with {@linkcode ENTRY_COLUMNS}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryOf } from "./mailbox_sqlite_schema.ts";
 * const entry = entryOf({
 *   seq: 3, own: 0, message_id: "m1", sent_at: 5, kind: "direct", sender: "Harry",
 *   recipients: '["Ron_W"]', topic: "", content: new TextEncoder().encode("hi\0!"),
 * });
 * assert.deepEqual(entry.message.to, ["Ron_W"]);
 * assert.equal(entry.own, false);
 * assert.equal(entry.message.content, "hi\0!");
 * ```
 */
export function entryOf(row: EntryRow): Entry {
  const message: Message = {
    id: row.message_id,
    sentAt: row.sent_at,
    kind: row.kind as MessageKind,
    from: row.sender,
    to: JSON.parse(row.recipients),
    topic: row.topic,
    content: utf8.decode(row.content),
  };
  return { seq: row.seq, message, own: row.own !== 0 };
}

/**
 * The SQL of a history page and its parameters after the box id and the
 * oldest readable `sent_at`: the same filters as the memory engine's
 * `matchesQuery` (`with` wins over `topic`), newest first unless `after`
 * is given, one row more than `limit` to tell `hasMore`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { historySql } from "./mailbox_sqlite_schema.ts";
 * const { sql, params } = historySql({ after: 10, limit: 5, topic: "quidditch" });
 * assert.match(sql, /ORDER BY e\.seq ASC LIMIT \?$/);
 * assert.deepEqual(params, ["quidditch", 10, 6]);
 * ```
 */
export function historySql(query: HistoryQuery): { sql: string; params: (string | number)[] } {
  let filter = "";
  const params: (string | number)[] = [];
  if (query.with !== undefined) {
    // The own copy names its recipients; a received entry, its sender.
    filter = " AND m.kind = 'direct' AND CASE WHEN e.own THEN EXISTS " +
      "(SELECT 1 FROM json_each(m.recipients) WHERE value = ?) ELSE m.sender = ? END";
    params.push(query.with, query.with);
  } else if (query.topic !== undefined) {
    filter = " AND m.kind <> 'direct' AND m.topic = ?";
    params.push(query.topic);
  }
  let range: string;
  if (query.after !== undefined) {
    range = " AND e.seq > ? ORDER BY e.seq ASC";
    params.push(query.after);
  } else {
    range = " AND e.seq < ? ORDER BY e.seq DESC";
    const before = query.before ?? Infinity;
    params.push(Number.isFinite(before) ? before : Number.MAX_SAFE_INTEGER);
  }
  params.push(query.limit + 1);
  const sql = `SELECT ${ENTRY_COLUMNS} FROM entries e JOIN messages m ON m.id = e.message ` +
    `WHERE e.box = ? AND m.sent_at > ?${filter}${range} LIMIT ?`;
  return { sql, params };
}
