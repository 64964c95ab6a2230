import assert from "node:assert/strict";
import {
  CACHE_KIB,
  CommitError,
  DATABASE_FILE,
  DataDirError,
  DataDirInUseError,
  MAX_BATCH,
  type Participant,
  SqliteDatabase,
  type SqliteDatabaseOptions,
  WAL_CHECKPOINT_PAGES,
} from "../../lib/store/sqlite_database.ts";
import { startChild } from "./sqlite_child.ts";

const root = await Deno.makeTempDir({ prefix: "huayi_database_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
let dirs = 0;
const freshDir = () => `${root}/${++dirs}`;

async function openNotes(dir: string, options: SqliteDatabaseOptions = {}) {
  const database = await SqliteDatabase.open(dir, options);
  database.migrate("notes", 1, "CREATE TABLE notes (text TEXT NOT NULL)");
  const insert = database.prepare("INSERT INTO notes (text) VALUES (?)");
  const count = () => Number(database.prepare("SELECT count(*) AS n FROM notes").get()!.n);
  return { database, insert, count };
}

/** The error `promise` rejects with, checked to be an `expected`. */
async function rejection<E extends Error>(
  promise: Promise<unknown>,
  expected: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof expected, `${error} is a ${expected.name}`);
    return error;
  }
  throw new assert.AssertionError({ message: `expected a ${expected.name}` });
}

function participant(): Participant & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    beforeCommit: () => calls.push("before"),
    afterCommit: () => calls.push("after"),
    afterRollback: () => calls.push("rollback"),
  };
}

Deno.test("database: open creates the directory, uses WAL, and sync picks how durable", async () => {
  const dir = `${freshDir()}/nested/data`;
  for (const [sync, level] of [["normal", 1], ["full", 2]] as const) {
    const database = await SqliteDatabase.open(dir, { sync });
    try {
      assert.equal(database.path, `${dir}/${DATABASE_FILE}`);
      assert.equal(database.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      assert.equal(database.prepare("PRAGMA synchronous").get()?.synchronous, level);
      assert.equal(database.prepare("PRAGMA locking_mode").get()?.locking_mode, "exclusive");
      assert.equal(database.prepare("PRAGMA cache_size").get()?.cache_size, -CACHE_KIB);
      assert.equal(
        database.prepare("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint,
        WAL_CHECKPOINT_PAGES,
      );
    } finally {
      database.close();
    }
  }
  assert.ok((await Deno.stat(`${dir}/${DATABASE_FILE}`)).isFile);
});

Deno.test("database: a data dir that is a file, under a file, or not writable is a DataDirError naming it", async () => {
  const file = `${freshDir()}.file`;
  await Deno.writeTextFile(file, "not a directory");
  for (const dir of [file, `${file}/data`]) {
    const error = await rejection(SqliteDatabase.open(dir), DataDirError);
    assert.ok(!(error instanceof DataDirInUseError));
    assert.ok(error.message.includes(dir), error.message);
    assert.equal(error.dir, dir);
  }
  // Without write permission (as root, file modes would not stop it).
  const dir = freshDir();
  await Deno.mkdir(dir);
  const child = startChild(["open", dir], ["--allow-read"]);
  const answer = JSON.parse((await child.next())!);
  assert.equal((await child.process.status).code, 0);
  assert.equal(answer.error, "DataDirError");
  assert.ok(answer.message.includes(dir), answer.message);
});

Deno.test("database: a live process holds its directory; after kill -9 the next open takes over", async () => {
  const dir = freshDir();
  const holder = startChild(["hold", dir]);
  try {
    assert.equal(await holder.next(), "ready");
    const error = await rejection(SqliteDatabase.open(dir), DataDirInUseError);
    assert.equal(error.message, `data directory ${dir} is in use by another process`);
    // A third process is refused the same way.
    const other = startChild(["open", dir]);
    assert.equal(JSON.parse((await other.next())!).error, "DataDirInUseError");
    await other.process.status;
  } finally {
    holder.process.kill("SIGKILL");
    assert.equal((await holder.process.status).signal, "SIGKILL");
  }
  const database = await SqliteDatabase.open(dir);
  try {
    const held = database.prepare("SELECT count(*) AS n FROM held").get();
    assert.equal(held?.n, 1, "what the killed process committed is there");
  } finally {
    database.close();
  }
});

Deno.test("database: writes issued in one turn share one commit; each resolves after it", async () => {
  const commits: number[] = [];
  const { database, insert, count } = await openNotes(freshDir(), {
    onCommit: (seconds, rows) => {
      assert.ok(seconds >= 0 && seconds < 10);
      commits.push(rows);
    },
  });
  try {
    const order: number[] = [];
    const writes = Array.from(
      { length: 1000 },
      (_, i) =>
        database.write(() => insert.run(`note ${i}`), () => {
          assert.equal(database.inTransaction, false, "after COMMIT");
          order.push(i);
        }),
    );
    assert.equal(count(), 0, "nothing is applied before the turn ends");
    await Promise.all(writes);
    assert.deepEqual(commits, [1000]);
    assert.deepEqual(order, Array.from({ length: 1000 }, (_, i) => i));
    await database.write(() => insert.run("later"));
    assert.deepEqual(commits, [1000, 1]);
    assert.equal(count(), 1001);
  } finally {
    database.close();
  }
});

Deno.test("database: more than MAX_BATCH writes go in order over several commits", async () => {
  const commits: number[] = [];
  const { database, insert } = await openNotes(freshDir(), {
    onCommit: (_, rows) => commits.push(rows),
  });
  try {
    const total = MAX_BATCH + 10;
    const ids = await Promise.all(
      Array.from(
        { length: total },
        (_, i) => database.write(() => Number(insert.run(`${i}`).lastInsertRowid)),
      ),
    );
    assert.deepEqual(commits, [MAX_BATCH, 10]);
    assert.deepEqual(ids, Array.from({ length: total }, (_, i) => i + 1));
  } finally {
    database.close();
  }
});

Deno.test("database: a failed commit rolls back its whole batch and rejects it with CommitError", async () => {
  const { database, insert, count } = await openNotes(freshDir());
  const hooks = participant();
  database.attach(hooks);
  try {
    await database.write(() => insert.run("kept"));
    hooks.calls.length = 0;
    // A full disk, for real: the file may not grow past its current pages.
    const pages = Number(database.prepare("PRAGMA page_count").get()!.page_count);
    database.prepare(`PRAGMA max_page_count = ${pages}`).get();
    const small = database.write(() => insert.run("small"));
    const big = database.write(() => insert.run("x".repeat(1 << 20)));
    for (const write of [small, big]) {
      const error = await rejection(write, CommitError);
      assert.match(error.message, /full/);
    }
    assert.deepEqual(hooks.calls, ["rollback"], "it failed in the write, before the hooks");
    assert.equal(count(), 1, "the small one went with the batch");
    database.prepare("PRAGMA max_page_count = 1000000").get();
    await database.write(() => insert.run("after"));
    assert.equal(count(), 2);
    // A write that throws fails its batch the same way.
    const thrown = database.write(() => {
      insert.run("never");
      throw new Error("boom");
    });
    await assert.rejects(
      () => thrown,
      (error) => error instanceof CommitError && /boom/.test(error.message),
    );
    assert.equal(count(), 2);
  } finally {
    database.detach(hooks);
  }
  assert.equal(database.closed, true, "the last participant to detach closed it");
});

Deno.test("database: a committed callback that throws rejects only its own write", async () => {
  const { database, insert, count } = await openNotes(freshDir());
  try {
    const failing = database.write(() => insert.run("a"), () => {
      throw new Error("listener failed");
    });
    const fine = database.write(() => insert.run("b"));
    await assert.rejects(() => failing, /listener failed/);
    await fine;
    assert.equal(count(), 2, "both were committed");
  } finally {
    database.close();
  }
});

Deno.test("database: flushWithin commits a participant's lazy state without any write", async () => {
  const commits: number[] = [];
  const database = await SqliteDatabase.open(freshDir(), {
    onCommit: (_, rows) => commits.push(rows),
  });
  const hooks = participant();
  database.attach(hooks);
  try {
    database.flushWithin(30);
    database.flushWithin(1000); // a later bound does not postpone the earlier one
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(hooks.calls, ["before", "after"]);
    assert.equal(commits.length, 1);
    // A write's commit sooner serves the bound, and no timer is left behind.
    database.flushWithin(60_000);
    await database.write(() => {});
    assert.equal(commits.length, 2);
  } finally {
    database.detach(hooks);
  }
});

Deno.test("database: close commits what is queued; later writes reject", async () => {
  const dir = freshDir();
  const { database, insert } = await openNotes(dir);
  const queued = database.write(() => insert.run("queued"));
  database.close();
  await queued;
  await assert.rejects(() => database.write(() => {}), CommitError);
  const again = await openNotes(dir);
  try {
    assert.equal(again.count(), 1);
  } finally {
    again.database.close();
  }
});

Deno.test("database: migrate records a version; another version is a DataDirError", async () => {
  const dir = freshDir();
  (await openNotes(dir)).database.close();
  const database = await SqliteDatabase.open(dir);
  try {
    assert.equal(database.meta("schema.notes"), 1);
    database.migrate("notes", 1, "this is not run again");
    assert.throws(
      () => database.migrate("notes", 2, ""),
      (error) =>
        error instanceof DataDirError &&
        /notes tables of version 1; this server knows version 2/.test(error.message),
    );
  } finally {
    database.close();
  }
});

Deno.test("database: it stays open until the last attached engine detaches", async () => {
  const database = await SqliteDatabase.open(freshDir());
  const [a, b] = [participant(), participant()];
  database.attach(a);
  database.attach(b);
  database.detach(a);
  database.detach(a);
  assert.equal(database.closed, false);
  database.detach(b);
  assert.equal(database.closed, true);
});
