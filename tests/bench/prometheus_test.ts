import assert from "node:assert/strict";
import {
  histogramQuantile,
  maxBucket,
  parseGauge,
  parseHistograms,
  subtractHistogram,
  windowSummary,
} from "../../bench/prometheus.ts";

// What the server's /metrics looks like (im_event_loop_lag_seconds: the default buckets).
const LAG_BOUNDS = ["0.0001", "0.00025", "0.0005", "0.001", "0.005", "0.01", "0.025", "0.05"];
const exposition = (lag: number[], commits: [number, number] = [0, 0]) =>
  [
    "# HELP im_mailbox_entries Stored mailbox entries.",
    "# TYPE im_mailbox_entries gauge",
    "im_mailbox_entries 1234",
    "# TYPE im_http_requests_total counter",
    'im_http_requests_total{route="/api/messages",status="200"} 99',
    "# TYPE im_store_commit_seconds histogram",
    `im_store_commit_seconds_bucket{le="0.001"} ${commits[0]}`,
    `im_store_commit_seconds_bucket{le="+Inf"} ${commits[1]}`,
    `im_store_commit_seconds_sum ${commits[1] * 0.0005}`,
    `im_store_commit_seconds_count ${commits[1]}`,
    "# TYPE im_event_loop_lag_seconds histogram",
    ...LAG_BOUNDS.map((le, i) => `im_event_loop_lag_seconds_bucket{le="${le}"} ${lag[i]}`),
    `im_event_loop_lag_seconds_bucket{le="+Inf"} ${lag[LAG_BOUNDS.length]}`,
    "im_event_loop_lag_seconds_sum 0.25",
    `im_event_loop_lag_seconds_count ${lag[LAG_BOUNDS.length]}`,
    "# TYPE im_redis_command_seconds histogram",
    'im_redis_command_seconds_bucket{command="get",le="0.001"} 4',
    'im_redis_command_seconds_bucket{command="get",le="+Inf"} 5',
    'im_redis_command_seconds_sum{command="get"} 0.01',
    'im_redis_command_seconds_count{command="get"} 5',
    "",
  ].join("\n");

Deno.test("bench prometheus: histograms by series, gauges, other samples skipped", () => {
  const text = exposition([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const all = parseHistograms(text);
  assert.deepEqual([...all.keys()], [
    "im_store_commit_seconds",
    "im_event_loop_lag_seconds",
    'im_redis_command_seconds{command="get"}',
  ]);
  const lag = all.get("im_event_loop_lag_seconds")!;
  assert.deepEqual(lag.bounds, [...LAG_BOUNDS.map(Number), Infinity]);
  assert.deepEqual(lag.cumulative, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(lag.count, 8);
  assert.equal(lag.sum, 0.25);
  assert.equal(all.get('im_redis_command_seconds{command="get"}')!.count, 5);
  assert.equal(parseGauge(text, "im_mailbox_entries"), 1234);
  assert.equal(parseGauge(text, "im_mailbox"), undefined, "a prefix is not the name");
  assert.equal(parseGauge(text, "im_users"), undefined);
  assert.equal(parseHistograms("").size, 0);
  assert.equal(parseHistograms("garbage\n{}\nx_count 3\n").size, 0, "no buckets: no histogram");
});

Deno.test("bench prometheus: buckets out of order are sorted by bound", () => {
  const h = parseHistograms(
    'x_bucket{le="+Inf"} 3\nx_bucket{le="0.5"} 2\nx_bucket{le="0.1"} 1\nx_count 3\n',
  ).get("x")!;
  assert.deepEqual(h.bounds, [0.1, 0.5, Infinity]);
  assert.deepEqual(h.cumulative, [1, 2, 3]);
});

Deno.test("bench prometheus: the window is after − before, bucket by bucket", () => {
  const before = parseHistograms(exposition([0, 0, 5, 8, 10, 10, 10, 10, 10]))
    .get("im_event_loop_lag_seconds")!;
  const after = parseHistograms(exposition([0, 0, 5, 58, 100, 109, 110, 110, 110]))
    .get("im_event_loop_lag_seconds")!;
  const window = subtractHistogram(after, before);
  assert.deepEqual(window.cumulative, [0, 0, 0, 50, 90, 99, 100, 100, 100]);
  assert.equal(window.count, 100);
  assert.equal(window.sum, 0);
  // Different bounds, or counts that went down (a restart): the later scrape alone.
  assert.equal(subtractHistogram(after, { ...before, bounds: [1, Infinity] }), after);
  assert.equal(subtractHistogram(before, after), before);
  assert.equal(subtractHistogram(after, undefined), after);
});

Deno.test("bench prometheus: quantiles interpolate inside a bucket, as histogram_quantile", () => {
  // 50 in (0.5 ms, 1 ms], 40 in (1, 5], 9 in (5, 10], 1 in (10, 25].
  const h = {
    bounds: [0.0005, 0.001, 0.005, 0.01, 0.025, Infinity],
    cumulative: [0, 50, 90, 99, 100, 100],
    sum: 0,
    count: 100,
  };
  assert.equal(histogramQuantile(h, 0.5), 0.001, "rank 50: the top of the 1 ms bucket");
  assert.ok(Math.abs(histogramQuantile(h, 0.7) - 0.003) < 1e-12, "halfway into (1, 5]");
  assert.equal(histogramQuantile(h, 0.99), 0.01);
  assert.ok(Math.abs(histogramQuantile(h, 0.25) - 0.00075) < 1e-12, "first non-empty bucket");
  assert.equal(maxBucket(h), 0.025);
  // The first bucket starts at 0.
  const low = { bounds: [0.001, Infinity], cumulative: [10, 10], sum: 0, count: 10 };
  assert.equal(histogramQuantile(low, 0.5), 0.0005);
  // A rank in +Inf: the largest finite bound; the max is unbounded.
  const high = { bounds: [0.001, 0.01, Infinity], cumulative: [1, 1, 10], sum: 0, count: 10 };
  assert.equal(histogramQuantile(high, 0.99), 0.01);
  assert.equal(maxBucket(high), Infinity);
  // Nothing observed.
  const empty = { bounds: [0.001, Infinity], cumulative: [0, 0], sum: 0, count: 0 };
  assert.ok(Number.isNaN(histogramQuantile(empty, 0.99)));
  assert.ok(Number.isNaN(maxBucket(empty)));
});

Deno.test("bench prometheus: a window's lag in ms, and nothing without /metrics", () => {
  const before = exposition([0, 0, 5, 8, 10, 10, 10, 10, 10], [3, 3]);
  const after = exposition([0, 0, 5, 58, 100, 109, 110, 110, 110], [103, 203]);
  const lag = windowSummary(before, after, "im_event_loop_lag_seconds")!;
  assert.equal(lag.count, 100);
  assert.ok(Math.abs(lag.p99Ms - 10) < 1e-9, `p99 ${lag.p99Ms}`);
  assert.equal(lag.maxMs, 25);
  const commits = windowSummary(before, after, "im_store_commit_seconds")!;
  assert.equal(commits.count, 200);
  assert.equal(commits.p99Ms, 1, "the rank falls in +Inf: the largest finite bound");
  assert.equal(windowSummary(before, undefined, "im_event_loop_lag_seconds"), undefined);
  assert.equal(windowSummary(undefined, after, "im_nothing_seconds"), undefined);
  // Without the first scrape, everything since start.
  assert.equal(windowSummary(undefined, after, "im_event_loop_lag_seconds")!.count, 110);
});

Deno.test("bench prometheus: reads the server's own exposition", async () => {
  const { createServerMetrics } = await import("../../lib/telemetry/server_metrics.ts");
  const metrics = createServerMetrics({
    connectionsOpen: () => 0,
    usersOnline: () => 0,
    mailboxEntries: () => 4321,
    storeBytes: () => 0,
    users: () => 0,
    topics: () => 0,
    outboxFrames: () => 0,
  });
  const before = metrics.registry.expose();
  for (let i = 0; i < 99; i++) metrics.eventLoopLag.observe(0.0007);
  metrics.eventLoopLag.observe(0.3);
  metrics.storeCommitSeconds.observe(0.002);
  const after = metrics.registry.expose();
  const lag = windowSummary(before, after, "im_event_loop_lag_seconds")!;
  assert.equal(lag.count, 100);
  assert.ok(lag.p99Ms > 0.5 && lag.p99Ms <= 1, `p99 ${lag.p99Ms}: inside (0.5, 1] ms`);
  assert.equal(lag.maxMs, 500, "0.3 s lands in (0.25, 0.5]");
  assert.equal(windowSummary(before, after, "im_store_commit_seconds")!.count, 1);
  assert.equal(parseGauge(after, "im_mailbox_entries"), 4321);
  // What a run reports from the two scrapes.
  for (let i = 0; i < 100; i++) metrics.deliverySeconds.observe(0.004);
  const { serverHistograms } = await import("../../bench/figures.ts");
  const figures = serverHistograms(before, metrics.registry.expose());
  assert.equal(figures.lagSamples, 100);
  assert.equal(figures.lagMaxMs, 500);
  assert.equal(figures.commits, 1);
  assert.ok(figures.commitP99Ms > 1 && figures.commitP99Ms <= 2.5, `${figures.commitP99Ms}`);
  assert.ok(
    figures.serverDeliveryP99Ms > 1 && figures.serverDeliveryP99Ms <= 5,
    `${figures.serverDeliveryP99Ms}: inside (1, 5] ms`,
  );
  const none = serverHistograms(undefined, undefined);
  assert.ok(Number.isNaN(none.lagP99Ms) && Number.isNaN(none.serverDeliveryP99Ms));
  assert.equal(none.lagSamples, 0);
});
