import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { monitorEventLoopLag } from "../../lib/telemetry/event_loop_lag.ts";
import { Histogram } from "../../lib/telemetry/histogram.ts";

/** Polls until `histogram` has more than `count` observations. */
async function observedMoreThan(histogram: Histogram, count: number): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (histogram.count <= count) {
    assert.ok(performance.now() < deadline, `still ${histogram.count} observations after 5 s`);
    await delay(5);
  }
}

// Deno 2.9 checks for leaked timers only when asked to.
const sanitize = { sanitizeOps: true, sanitizeResources: true };

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Spin: the point is to hold the event loop.
  }
}

Deno.test(
  "event loop lag: a 200 ms synchronous block is observed as at least 0.15 s",
  sanitize,
  async () => {
    const controller = new AbortController();
    const histogram = new Histogram({ buckets: [0.05, 0.15, 1] });
    const returned = monitorEventLoopLag({ signal: controller.signal, intervalMs: 20, histogram });
    assert.equal(returned, histogram);
    try {
      await observedMoreThan(histogram, 0);
      const before = histogram.cumulativeCounts();
      blockFor(200);
      await observedMoreThan(histogram, histogram.count);
      const after = histogram.cumulativeCounts();
      const between = (counts: number[], low: number, high: number) => counts[high] - counts[low];
      // The blocked tick's lag is in (0.15, 1] seconds; other ticks may add small lags.
      assert.ok(between(after, 1, 2) - between(before, 1, 2) >= 1, `${before} -> ${after}`);
      assert.equal(between(after, 2, 3), between(before, 2, 3), `${before} -> ${after}`);
      assert.ok(histogram.sum >= 0.15, `sum ${histogram.sum}`);
    } finally {
      controller.abort();
    }
  },
);

Deno.test("event loop lag: observations are in seconds and stop at abort", sanitize, async () => {
  const controller = new AbortController();
  const lag = monitorEventLoopLag({ signal: controller.signal, intervalMs: 10 });
  assert.equal(lag.buckets.length, 15, "default buckets when none is passed");
  await observedMoreThan(lag, 2);
  controller.abort();
  const count = lag.count;
  assert.ok(lag.sum >= 0, `sum ${lag.sum}`);
  await delay(50);
  assert.equal(lag.count, count, "no tick after abort");
});

Deno.test("event loop lag: an aborted signal starts nothing; bad intervals throw", sanitize, () => {
  const histogram = new Histogram();
  monitorEventLoopLag({ signal: AbortSignal.abort(), histogram });
  assert.equal(histogram.count, 0);
  for (const intervalMs of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => monitorEventLoopLag({ signal: AbortSignal.abort(), intervalMs }),
      RangeError,
      String(intervalMs),
    );
  }
});
