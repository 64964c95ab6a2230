import assert from "node:assert/strict";
import type { Directory, DirectoryOptions } from "../../lib/store/directory.ts";
import { SqliteDirectory, TOUCH_PERSIST_MS } from "../../lib/store/directory_sqlite.ts";
import { CommitError, SqliteDatabase } from "../../lib/store/sqlite_database.ts";
import { openSqliteStore } from "../../lib/store/store_sqlite.ts";
import { testDirectory } from "./directory_contract.ts";
import { CHILD_DIRECTORY, startChild } from "./sqlite_child.ts";

const root = await Deno.makeTempDir({ prefix: "huayi_directory_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
let dirCount = 0;
const freshDir = () => `${root}/${++dirCount}`;

const dirs = new WeakMap<Directory, string>();

testDirectory("sqlite", {
  async open(options) {
    const dir = freshDir();
    const directory = new SqliteDirectory(await SqliteDatabase.open(dir), options);
    dirs.set(directory, dir);
    return directory;
  },
  async reopen(directory, options) {
    const dir = dirs.get(directory)!;
    await directory.close();
    const reopened = new SqliteDirectory(await SqliteDatabase.open(dir), options);
    dirs.set(reopened, dir);
    return reopened;
  },
});

const TTL = 1_000_000;

async function setup(dir = freshDir(), overrides: Partial<DirectoryOptions> = {}) {
  const time = { now: 1_000_000_000 };
  const database = await SqliteDatabase.open(dir);
  const directory = new SqliteDirectory(database, {
    sessionTtlMs: TTL,
    maxUsers: 100,
    maxTopics: 100,
    maxSessions: 100,
    now: () => time.now,
    ...overrides,
  });
  const lastSeen = (sid: string) =>
    database.prepare("SELECT last_seen FROM sessions WHERE sid = ?").get(sid)?.last_seen;
  return { directory, database, time, dir, lastSeen };
}

async function login(directory: Directory, username: string) {
  const opened = await directory.openSession(username);
  assert.equal(opened.kind, "opened");
  return opened.kind === "opened" ? opened.session : undefined!;
}

Deno.test("directory (sqlite): a session opened before kill -9 is valid after it", async () => {
  const dir = freshDir();
  const child = startChild(["login", dir]);
  const line = await child.next();
  child.process.kill("SIGKILL");
  await child.process.status;
  const sid = line!.slice("sid ".length);
  const directory = new SqliteDirectory(await SqliteDatabase.open(dir), CHILD_DIRECTORY);
  try {
    assert.equal((await directory.session(sid))?.username, "Harry");
  } finally {
    await directory.close();
  }
});

Deno.test("directory (sqlite): signs of life are written coarsely, with the next commit", async () => {
  const { directory, time, lastSeen, dir } = await setup();
  const every = Math.min(TOUCH_PERSIST_MS, TTL / 10);
  const harry = await login(directory, "Harry");
  const loggedIn = time.now;
  time.now += every - 1;
  directory.touch(harry);
  await directory.createTopic("quidditch", "Harry"); // a commit
  assert.equal(lastSeen(harry.sid), loggedIn, "too soon to be worth a write");
  time.now += 1;
  directory.touch(harry);
  assert.equal(lastSeen(harry.sid), loggedIn, "not at once");
  await directory.createTopic("potions", "Harry");
  assert.equal(lastSeen(harry.sid), time.now);
  time.now += 5;
  directory.touch(harry);
  await directory.close();
  const again = await setup(dir);
  try {
    again.time.now = time.now;
    const session = await again.directory.session(harry.sid);
    assert.equal(session?.lastSeen, time.now - 5, "what was written: at most that much behind");
  } finally {
    await again.directory.close();
  }
});

Deno.test("directory (sqlite): a session that expired on lookup loses its row with the next commit", async () => {
  const { directory, time, lastSeen } = await setup();
  try {
    const harry = await login(directory, "Harry");
    time.now += TTL;
    assert.equal(await directory.session(harry.sid), undefined);
    assert.notEqual(lastSeen(harry.sid), undefined);
    await directory.createTopic("quidditch", "Ron_W");
    assert.equal(lastSeen(harry.sid), undefined);
  } finally {
    await directory.close();
  }
});

Deno.test("directory (sqlite): a failed commit rejects and memory goes back to the rows", async () => {
  const { directory, database, time } = await setup();
  try {
    const harry = await login(directory, "Harry");
    await directory.createTopic("quidditch", "Harry");
    time.now += 10;
    directory.touch(harry);
    const pages = database.prepare("PRAGMA page_count").get()!.page_count;
    database.prepare(`PRAGMA max_page_count = ${pages}`).get();
    const failed = [
      directory.register("Hermione", "x".repeat(1 << 20)),
      directory.join("quidditch", ["Ron_W"]),
      directory.closeSession(harry),
    ];
    for (const write of failed) await assert.rejects(() => write, CommitError);
    database.prepare("PRAGMA max_page_count = 1000000").get();
    assert.equal(await directory.hasUser("Hermione"), false);
    assert.deepEqual(await directory.members("quidditch"), ["Harry"]);
    const live = await directory.session(harry.sid);
    assert.equal(live?.lastSeen, time.now, "the sign of life seen since is kept");
    // The session objects are new, but the old one still names the session by its sid.
    directory.touch(harry);
    assert.equal(await directory.closeSession(harry), true);
    assert.equal(await directory.session(harry.sid), undefined);
  } finally {
    await directory.close();
  }
});

Deno.test("directory (sqlite): the store shares one database and one commit between both engines", async () => {
  const commits: number[] = [];
  const dir = freshDir();
  const options = {
    dir,
    onCommit: (_: number, rows: number) => commits.push(rows),
    mailbox: {
      offlineTtlMs: TTL,
      historyTtlMs: TTL,
      mailboxMax: 100,
      maxBytes: 1 << 20,
      maxMailboxes: 100,
    },
    directory: { sessionTtlMs: TTL, maxUsers: 100, maxTopics: 100, maxSessions: 100 },
  };
  const store = await openSqliteStore(options);
  const message = {
    id: "m1",
    sentAt: Date.now(),
    kind: "direct" as const,
    from: "Harry",
    to: ["Ron_W"],
    topic: "",
    content: "hi",
  };
  const [opened, appended] = await Promise.all([
    store.directory.openSession("Harry"),
    store.mailbox.append({ message, recipients: ["Ron_W"], ownCopy: true }),
  ]);
  assert.equal(opened.kind, "opened");
  assert.equal(appended.kind, "appended");
  assert.equal(commits.length, 1);
  await store.close();
  const again = await openSqliteStore(options);
  try {
    assert.equal(await again.directory.hasUser("Harry"), true);
    assert.equal((await again.mailbox.read("Ron_W", 0, 1)).length, 1);
  } finally {
    await again.close();
  }
});
