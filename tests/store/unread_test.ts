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

// The counter as it was before count() kept when its next expiry is: the
// same buckets, the expiry loop run on every count.
class LoopingCounter {
  starts: number[] = [];
  counts: number[] = [];
  total = 0;
  constructor(readonly ttl: number, readonly width = Math.max(1, Math.ceil(ttl / 16))) {}
  add(sentAt: number) {
    const start = sentAt - (sentAt % this.width);
    const last = this.starts.length - 1;
    if (last >= 0 && this.starts[last] >= start) this.counts[last]++;
    else if (last === 0 && this.counts[0] === 0) [this.starts[0], this.counts[0]] = [start, 1];
    else this.starts.push(start), this.counts.push(1);
    this.total++;
  }
  consume() {
    if (this.total === 0) return;
    this.total--;
    if (--this.counts[0] === 0 && this.starts.length > 1) this.starts.shift(), this.counts.shift();
  }
  remove(sentAt: number) {
    if (this.total === 0) return;
    let i = this.starts.findIndex((start) => sentAt < start + this.width);
    if (i === -1 || this.counts[i] === 0) i = 0;
    this.total--;
    if (--this.counts[i] === 0) this.starts.splice(i, 1), this.counts.splice(i, 1);
  }
  count(now: number) {
    while (this.starts.length > 0 && this.starts[0] + this.width + this.ttl <= now) {
      this.total -= this.counts[0];
      this.starts.shift();
      this.counts.shift();
    }
    return this.total;
  }
}

Deno.test("UnreadCounter: counts as the expiry loop run on every count would, in random use", () => {
  let seed = 20261202;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 20; round++) {
    const unread = new UnreadCounter(16_000);
    const reference = new LoopingCounter(16_000);
    let now = 0;
    const sent: number[] = [];
    for (let step = 0; step < 2_000; step++) {
      // Quiet stretches long enough for whole buckets to expire, now and then.
      now += random() < 0.02 ? Math.floor(random() * 40_000) : Math.floor(random() * 300);
      const op = random();
      if (op < 0.45) {
        unread.add(now);
        reference.add(now);
        sent.push(now);
      } else if (op < 0.8) {
        unread.consume();
        reference.consume();
      } else if (op < 0.9 && sent.length > 0) {
        const at = sent[Math.floor(random() * sent.length)];
        unread.remove(at);
        reference.remove(at);
      }
      assert.equal(unread.count(now), reference.count(now), `round ${round}, step ${step}`);
    }
  }
});
