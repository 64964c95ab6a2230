import assert from "node:assert/strict";
import { directorySize, perItem } from "../../bench/disk.ts";
import { fillSchedule } from "../../bench/fill_worker.ts";
import { fillUsers } from "../../bench/scenarios/restart.ts";
import { medianRecord } from "../../bench/stats.ts";

Deno.test("bench directorySize: every file under the directory, nested ones too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-disk-test-" });
  try {
    await Deno.writeFile(`${dir}/im.db`, new Uint8Array(4096));
    await Deno.writeFile(`${dir}/im.db-wal`, new Uint8Array(1000));
    await Deno.writeFile(`${dir}/im.db-shm`, new Uint8Array(0));
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeFile(`${dir}/sub/x`, new Uint8Array(24));
    await Deno.symlink(`${dir}/im.db`, `${dir}/link`);
    const size = await directorySize(dir);
    assert.equal(size.bytes, 4096 + 1000 + 24, "the link is not followed, nor counted");
    assert.deepEqual(size.files.map((f) => f.path), ["im.db", "im.db-wal", "sub/x", "im.db-shm"]);
    assert.equal(perItem(size.bytes, 1280), 4);
    assert.ok(Number.isNaN(perItem(size.bytes, 0)));
    assert.deepEqual(await directorySize(`${dir}/sub`), {
      bytes: 24,
      files: [{ path: "x", bytes: 24 }],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench fill: enough sends for the entries, every mailbox at the same pace", () => {
  const users = fillUsers(1_000_000, 100);
  assert.equal(users, 1000);
  assert.equal(fillUsers(2000, 100), 101, "at least one more user than recipients");
  const schedule = fillSchedule(users, 100, 1_000_000);
  assert.equal(schedule.sends, 9901, "each send stores 100 entries and the sender's copy");
  assert.ok(schedule.sends * 101 >= 1_000_000);
  // Over whole rounds of senders, every user gets the same number of entries.
  const small = fillSchedule(7, 3, 7 * 4 * 4);
  const got = new Array(7).fill(0);
  for (let n = 0; n < small.sends; n++) {
    const { from, to } = small.route(n);
    assert.ok(!to.includes(from), "nobody sends to themselves");
    assert.equal(new Set(to).size, 3, "distinct recipients");
    got[from]++;
    for (const user of to) got[user]++;
  }
  assert.equal(small.sends, 28);
  assert.deepEqual(got, new Array(7).fill(16));
  assert.throws(() => fillSchedule(3, 3, 10), /at least 4 users/);
});

Deno.test("bench medianRecord: finite numbers by median, the rest from the first run", () => {
  assert.deepEqual(
    medianRecord([
      { p99: 3, lag: NaN, tag: "a", drain: undefined as number | undefined },
      { p99: 1, lag: 2, tag: "b", drain: 5 },
      { p99: 2, lag: 4, tag: "c", drain: 7 },
    ]),
    { p99: 2, lag: 3, tag: "a", drain: 6 },
  );
  const one = { p99: 1 };
  assert.equal(medianRecord([one]), one);
  const none = medianRecord([{ lag: NaN }, { lag: NaN }]);
  assert.ok(Number.isNaN(none.lag));
});

Deno.test("bench assertStoreOpened: a sqlite run whose data directory stays empty fails", async () => {
  const { assertStoreOpened } = await import("../../bench/server_process.ts");
  const dir = await Deno.makeTempDir({ prefix: "bench-store-test-" });
  try {
    await assertStoreOpened("memory", dir);
    await assertStoreOpened("sqlite", undefined);
    await assert.rejects(assertStoreOpened("sqlite", dir), /not running on SQLite/);
    await Deno.writeTextFile(`${dir}/huayi.db`, "");
    await assertStoreOpened("sqlite", dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
