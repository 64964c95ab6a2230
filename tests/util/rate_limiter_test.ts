import assert from "node:assert/strict";
import { RateLimiter, type RateLimiterOptions } from "../../lib/util/rate_limiter.ts";

/** A limiter on a clock the test moves by hand. */
function limiter(options: Omit<RateLimiterOptions, "now" | "maxKeys"> & { maxKeys?: number }) {
  const clock = { now: 1_000_000 };
  const limiter = new RateLimiter({ maxKeys: 1000, ...options, now: () => clock.now });
  return { limiter, clock, advance: (ms: number) => void (clock.now += ms) };
}

const OK = { ok: true };
const wait = (retryAfterSeconds: number) => ({ ok: false, retryAfterSeconds });

Deno.test("rate limiter: a fresh key gets its burst, then a refusal with the right Retry-After", () => {
  const { limiter: a } = limiter({ ratePerSecond: 1, burst: 3 });
  for (let i = 0; i < 3; i++) assert.deepEqual(a.take("alice"), OK, `take ${i}`);
  assert.deepEqual(a.take("alice"), wait(1));

  const { limiter: b } = limiter({ ratePerSecond: 10, burst: 100 });
  for (let i = 0; i < 100; i++) assert.deepEqual(b.take("bob"), OK);
  assert.deepEqual(b.take("bob"), wait(1), "0.1 s rounds up to 1");
  assert.deepEqual(b.take("bob", 25), wait(3), "2.5 s rounds up to 3");
  assert.deepEqual(b.take("bob", 100), wait(10));
});

Deno.test("rate limiter: a refusal takes nothing", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 1, burst: 1 });
  assert.deepEqual(l.take("alice"), OK);
  for (let i = 0; i < 100; i++) assert.deepEqual(l.take("alice"), wait(1));
  advance(1000);
  assert.deepEqual(l.take("alice"), OK, "refused attempts did not dig the bucket deeper");
});

Deno.test("rate limiter: buckets refill over time, continuously and up to the burst only", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 2, burst: 4 });
  for (let i = 0; i < 4; i++) l.take("alice");
  advance(499);
  assert.deepEqual(l.take("alice"), wait(1));
  advance(1);
  assert.deepEqual(l.take("alice"), OK, "one token after 0.5 s at 2/s");
  assert.deepEqual(l.take("alice"), wait(1));
  advance(60_000);
  for (let i = 0; i < 4; i++) assert.deepEqual(l.take("alice"), OK, `after a minute, take ${i}`);
  assert.deepEqual(l.take("alice"), wait(1), "a minute's refill is capped at the burst");
});

Deno.test("rate limiter: keys are independent", () => {
  const { limiter: l } = limiter({ ratePerSecond: 1, burst: 2 });
  l.take("alice");
  l.take("alice");
  assert.deepEqual(l.take("alice"), wait(1));
  assert.deepEqual(l.take("bob"), OK);
  assert.deepEqual(l.take("bob"), OK);
  assert.deepEqual(l.take("bob"), wait(1));
  assert.deepEqual(l.take("alice "), OK, "keys are compared exactly");
});

Deno.test("rate limiter: fractional rates (0.5/s) give Retry-After in whole seconds", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 0.5, burst: 1 });
  assert.deepEqual(l.take("alice"), OK);
  assert.deepEqual(l.take("alice"), wait(2));
  advance(1000);
  assert.deepEqual(l.take("alice"), wait(1));
  advance(999);
  assert.deepEqual(l.take("alice"), wait(1), "1 ms short still says 1 s");
  advance(1);
  assert.deepEqual(l.take("alice"), OK);
  assert.deepEqual(l.take("alice"), wait(2));
});

Deno.test("rate limiter: waiting exactly Retry-After seconds always succeeds", () => {
  for (const ratePerSecond of [0.1, 0.3, 0.5, 1, 3, 7.5, 200]) {
    for (const cost of [1, 2.5, 5]) {
      const { limiter: l, advance } = limiter({ ratePerSecond, burst: 5 });
      for (let attempt = 0; attempt < 20; attempt++) {
        let refused;
        while ((refused = l.take("alice", cost)).ok);
        const seconds = refused.ok ? 0 : refused.retryAfterSeconds;
        assert.ok(Number.isInteger(seconds) && seconds >= 1);
        if (seconds > 1) {
          advance((seconds - 1) * 1000);
          assert.equal(l.take("alice", cost).ok, false, "Retry-After is not longer than needed");
          advance(1000);
        } else {
          advance(1000);
        }
        assert.deepEqual(l.take("alice", cost), OK, `rate ${ratePerSecond}, cost ${cost}`);
        advance(137); // somewhere between whole seconds for the next round
      }
    }
  }
});

Deno.test("rate limiter: refills that add up to a whole token are a whole token", () => {
  // At 0.3 per second a token takes 10000/3 ms, which a millisecond clock near 10^6 cannot hold
  // exactly: some steps' refill comes out a hair below 1 token.
  const { limiter: l, advance } = limiter({ ratePerSecond: 0.3, burst: 1 });
  for (let i = 0; i < 1000; i++) {
    assert.deepEqual(l.take("alice"), OK, `take ${i}`);
    advance(1000 / 0.3);
  }
});

Deno.test("rate limiter: a refilled bucket is forgotten, and a forgotten key starts full", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 1, burst: 5 });
  l.take("alice", 5);
  l.take("bob", 1);
  assert.equal(l.size, 2);
  advance(5000);
  l.take("carol");
  assert.equal(l.size, 1, "alice and bob refilled: only carol is tracked");
  for (let i = 0; i < 5; i++) assert.deepEqual(l.take("alice"), OK);
  assert.deepEqual(l.take("alice"), wait(1));
});

Deno.test("rate limiter: a busy key does not hold up the eviction of the keys behind it", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 10, burst: 20, maxKeys: 1000 });
  assert.deepEqual(l.take("busy"), OK);
  let largest = 0;
  for (let i = 0; i < 10_000; i++) {
    // As fast as it refills, from one token short: never full, never refused.
    assert.deepEqual(l.take("busy"), OK, `busy, step ${i}`);
    assert.deepEqual(l.take(`one-off ${i}`), OK, `one-off, step ${i}`);
    largest = Math.max(largest, l.size);
    advance(100);
  }
  assert.ok(largest <= 3, `peak ${largest}`);
});

Deno.test("rate limiter: sweep forgets refilled buckets behind one that has not refilled", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 1, burst: 10 });
  l.take("drained", 10);
  for (let i = 0; i < 50; i++) l.take(`sipped ${i}`);
  advance(1000);
  assert.equal(l.take("drained", 2).ok, false, "the oldest bucket has 1 token of 10");
  assert.equal(l.size, 51);
  assert.equal(l.sweep(), 50);
  assert.equal(l.size, 1);
  assert.equal(l.sweep(), 0);
  advance(9000);
  assert.equal(l.sweep(), 1);
  assert.equal(l.size, 0);
});

Deno.test("rate limiter: a million distinct keys over time keep the map bounded", () => {
  const maxKeys = 5000;
  const { limiter: l, advance } = limiter({ ratePerSecond: 10, burst: 20, maxKeys });
  let largest = 0;
  for (let i = 0; i < 1_000_000; i++) {
    assert.equal(l.take(`client ${i}`).ok, true);
    largest = Math.max(largest, l.size);
    advance(0.1); // 10,000 new keys per second, each refilled after 0.1 s: about 1000 live
  }
  assert.ok(largest <= maxKeys, `size reached ${largest}`);
  assert.ok(largest <= 1002, `refilled buckets were evicted as takes went: peak ${largest}`);
});

Deno.test("rate limiter: a million distinct keys at once fill maxKeys and then share one bucket", () => {
  const maxKeys = 10_000;
  const { limiter: l, advance } = limiter({ ratePerSecond: 1, burst: 5, maxKeys });
  assert.deepEqual(l.take("regular"), OK);
  for (let i = 1; i < maxKeys; i++) assert.deepEqual(l.take(`client ${i}`, 5), OK);
  assert.equal(l.size, maxKeys);

  let admitted = 0;
  for (let i = maxKeys; i < 1_000_000; i++) if (l.take(`client ${i}`).ok) admitted++;
  assert.equal(l.size, maxKeys, "never past maxKeys");
  assert.equal(admitted, 5, "the keys without a bucket shared one burst between them");
  assert.deepEqual(l.take("a newcomer"), wait(1));
  assert.deepEqual(l.take("regular"), OK, "keys with a bucket are unaffected by the flood");

  advance(1000);
  assert.deepEqual(l.take("a newcomer"), OK, "the overflow bucket refills like any other");
  assert.deepEqual(l.take("another newcomer"), wait(1), "and is still shared");
  assert.equal(l.size, maxKeys);

  advance(4000);
  assert.equal(l.sweep(), maxKeys, "every bucket has refilled");
  assert.deepEqual(l.take("a newcomer"), OK);
  assert.equal(l.size, 1, "space freed: a new key gets its own bucket again");
});

Deno.test("rate limiter: at maxKeys, refilled buckets at the oldest end make room", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 1, burst: 1, maxKeys: 3 });
  l.take("a");
  l.take("b");
  l.take("c");
  advance(1000); // all three refilled
  assert.deepEqual(l.take("d"), OK);
  assert.deepEqual(l.take("d"), wait(1), "d has its own bucket, not the overflow's");
  assert.ok(l.size <= 3);
});

Deno.test("rate limiter: a clock stepping back grants nothing and throws nothing", () => {
  const { limiter: l, advance } = limiter({ ratePerSecond: 1, burst: 2 });
  l.take("alice", 2);
  advance(-60_000);
  assert.deepEqual(l.take("alice"), wait(1));
  advance(60_000 + 1000);
  assert.deepEqual(l.take("alice"), OK);
});

Deno.test("rate limiter: the default clock is real time", () => {
  const l = new RateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 10 });
  assert.deepEqual(l.take("alice"), OK);
  assert.deepEqual(l.take("alice"), wait(1));
});

Deno.test("rate limiter: impossible options and costs are programming errors", () => {
  const valid = { ratePerSecond: 1, burst: 2, maxKeys: 10 };
  for (
    const bad of [
      { ratePerSecond: 0 },
      { ratePerSecond: -1 },
      { ratePerSecond: NaN },
      { ratePerSecond: Infinity },
      { burst: 0.5 },
      { burst: NaN },
      { maxKeys: 0 },
      { maxKeys: 1.5 },
      { maxKeys: Infinity },
    ]
  ) {
    assert.throws(() => new RateLimiter({ ...valid, ...bad }), RangeError, JSON.stringify(bad));
  }
  const l = new RateLimiter(valid);
  for (const cost of [0, -1, 2.5, NaN, Infinity]) {
    assert.throws(() => l.take("alice", cost), RangeError, String(cost));
  }
  assert.deepEqual(l.take("alice", 2), OK, "a cost of exactly the burst is allowed");
});

Deno.test("RateLimiter.give returns taken tokens, never past the burst, and ignores unknown keys", () => {
  let now = 0;
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 10, now: () => now });
  limiter.take("alice", 2);
  assert.equal(limiter.take("alice").ok, false);
  limiter.give("alice");
  assert.deepEqual(limiter.take("alice"), { ok: true });
  limiter.give("alice", 5);
  assert.deepEqual(limiter.take("alice", 2), { ok: true });
  assert.equal(limiter.take("alice").ok, false, "five given back still fill only the burst");
  limiter.give("bob");
  assert.equal(limiter.size, 1);
  now += 500;
  limiter.give("alice");
  assert.deepEqual(limiter.take("alice"), { ok: true }, "half a refill plus one given");
  assert.equal(limiter.take("alice").ok, false);
});
