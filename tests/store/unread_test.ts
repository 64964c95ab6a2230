import assert from "node:assert/strict";
import { UnreadCounter } from "../../lib/store/unread.ts";

Deno.test("UnreadCounter: a caught-up reader's count stays exact write after write", () => {
  const unread = new UnreadCounter(16_000); // buckets 1 s wide
  for (let t = 0; t < 50_000; t += 100) {
    unread.add(t);
    assert.equal(unread.count(t), 1);
    unread.consume();
    assert.equal(unread.count(t), 0);
  }
  // An emptied bucket left in place is not counted, and ages out.
  unread.add(60_000);
  unread.add(61_500);
  assert.equal(unread.count(61_500), 2);
  assert.equal(unread.count(60_000 + 16_000 + 1_000), 1);
  assert.equal(unread.count(61_500 + 16_000 + 1_000), 0);
});

Deno.test("UnreadCounter: consume takes the oldest, remove the one of its time", () => {
  const unread = new UnreadCounter(16_000);
  unread.add(0);
  unread.add(5_000);
  unread.add(5_100);
  unread.remove(5_000);
  assert.equal(unread.count(5_100), 2);
  unread.consume(); // the one of 0
  assert.equal(unread.count(5_100), 1);
  // Only the 5,100 one is left, so it expires with its bucket.
  assert.equal(unread.count(5_000 + 16_000 + 1_000), 0);
  unread.consume(); // nothing left: no negative counts
  unread.add(30_000);
  assert.equal(unread.count(30_000), 1);
});
