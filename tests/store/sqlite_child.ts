/**
 * A second process for the SQLite tests: the lock and `kill -9` need a real
 * one. `deno run -A sqlite_child.ts <mode> <dir> [sync]`, where mode is
 *
 * - `open`: opens the directory and prints one JSON line,
 *   `{"opened": true}` or `{"error": name, "message": ...}`, then exits;
 * - `hold`: opens it, writes a row, prints `ready`, and waits to be killed;
 * - `login`: logs Harry in, prints `sid <sid>` once that committed, and
 *   waits to be killed;
 * - `append`: appends 1:1 messages, several per event-loop turn, and prints
 *   `seq <n>` for each one only after its promise resolved (committed),
 *   until it is killed.
 *
 * @module
 */

import { SqliteDirectory } from "../../lib/store/directory_sqlite.ts";
import { SqliteMailbox } from "../../lib/store/mailbox_sqlite.ts";
import { SqliteDatabase, type SyncMode } from "../../lib/store/sqlite_database.ts";

/** The mailbox options the `append` child uses, for reopening what it wrote. */
export const CHILD_MAILBOX = {
  offlineTtlMs: 3_600_000,
  historyTtlMs: 3_600_000,
  mailboxMax: 1_000_000,
  maxBytes: 1 << 30,
  maxMailboxes: 1000,
};

/** The directory options the `login` child uses. */
export const CHILD_DIRECTORY = {
  sessionTtlMs: 3_600_000,
  maxUsers: 1000,
  maxTopics: 1000,
  maxSessions: 1000,
};

/** A running child and its output, line by line. */
export interface Child {
  readonly process: Deno.ChildProcess;
  /** The next line it printed (`undefined` once its output ended). */
  next(): Promise<string | undefined>;
}

/**
 * Starts this script as a child process.
 *
 * @param permissions Deno's permission flags for it (all, unless given).
 */
export function startChild(args: string[], permissions = ["-A"]): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, new URL(import.meta.url).pathname, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    process,
    async next() {
      while (!buffer.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) {
          const rest = buffer;
          buffer = "";
          return rest === "" ? undefined : rest;
        }
        buffer += value;
      }
      const end = buffer.indexOf("\n");
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      return line;
    },
  };
}

if (import.meta.main) {
  const [mode, dir, sync = "normal"] = Deno.args;
  const encoder = new TextEncoder();
  const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`));
  if (mode === "open") {
    try {
      (await SqliteDatabase.open(dir)).close();
      say(JSON.stringify({ opened: true }));
    } catch (error) {
      say(JSON.stringify({ error: (error as Error).name, message: (error as Error).message }));
    }
  } else if (mode === "hold") {
    const database = await SqliteDatabase.open(dir, { sync: sync as SyncMode });
    database.migrate("child", 1, "CREATE TABLE held (at INTEGER NOT NULL)");
    const insert = database.prepare("INSERT INTO held (at) VALUES (?)");
    await database.write(() => insert.run(Date.now()));
    say("ready");
    setInterval(() => {}, 1 << 30); // held until killed
  } else if (mode === "login") {
    const directory = new SqliteDirectory(
      await SqliteDatabase.open(dir, { sync: sync as SyncMode }),
      CHILD_DIRECTORY,
    );
    const opened = await directory.openSession("Harry");
    if (opened.kind === "opened") say(`sid ${opened.session.sid}`);
    setInterval(() => {}, 1 << 30); // held until killed
  } else if (mode === "append") {
    const mailbox = new SqliteMailbox(
      await SqliteDatabase.open(dir, { sync: sync as SyncMode }),
      CHILD_MAILBOX,
    );
    for (let n = 0;; n += 10) {
      // Ten sends in one turn share a commit; each is announced once it resolved.
      await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const message = {
          id: `m${n + i}`,
          sentAt: Date.now(),
          kind: "direct" as const,
          from: "Harry",
          to: ["Ron_W"],
          topic: "",
          content: `message ${n + i}`,
        };
        const result = await mailbox.append({ message, recipients: ["Ron_W"], ownCopy: false });
        if (result.kind === "appended") say(`seq ${result.seqs[0]}`);
      }));
    }
  }
}
