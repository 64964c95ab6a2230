import assert from "node:assert/strict";
import {
  bucketQuantile,
  evaluate,
  interpolate,
  parsePromql,
  type Scrape,
  type ScrapedSample,
  selectors,
} from "./promql.ts";

const MINUTE = 60_000;

/**
 * Scrapes every 5 minutes from 0 to 50 m of series that grow by `step` per
 * scrape, like Prometheus' `load 5m` with `0+stepx10`.
 */
function load(series: [name: string, labels: Record<string, string>, step: number][]): Scrape[] {
  return Array.from({ length: 11 }, (_, i) => ({
    at: i * 5 * MINUTE,
    samples: series.map(([name, labels, step]): ScrapedSample => ({
      name,
      labels,
      value: step * i,
    })),
  }));
}

function run(source: string, scrapes: Scrape[], at: number) {
  return evaluate(parsePromql(source), scrapes, at)
    .map(({ labels, value }) => [JSON.stringify(labels), value] as const)
    .sort();
}

function assertClose(actual: readonly (readonly [string, number])[], expected: [string, number][]) {
  assert.deepEqual(actual.map(([labels]) => labels), expected.map(([labels]) => labels));
  actual.forEach(([labels, value], i) => {
    const want = expected[i][1];
    assert.ok(value === want || Math.abs(value - want) < 1e-9, `${labels}: ${value} vs ${want}`);
  });
}

Deno.test("promql: parses the dashboard's forms and refuses anything else", () => {
  const quantile = parsePromql(
    'histogram_quantile(0.99, sum by (le, instance) (rate(im_x_bucket{instance=~".*"}[1m])))',
  );
  assert.deepEqual(selectors(quantile), [{
    kind: "selector",
    name: "im_x_bucket",
    matchers: [{ label: "instance", op: "=~", value: ".*" }],
    rangeMs: MINUTE,
  }]);
  // "by" after the argument means the same.
  assert.deepEqual(
    parsePromql("sum(rate(a_total[30s])) by (kind)"),
    parsePromql("sum by (kind) (rate(a_total[30s]))"),
  );
  assert.equal(selectors(parsePromql("increase(a_total[250ms])"))[0].rangeMs, 250);
  for (
    const bad of [
      "a_total / b_total",
      "sum without (kind) (a_total)",
      "rate(a_total[1m] offset 5m)",
      "rate(a_total)",
      "irate(a_total[1m])",
      "histogram_quantile(a_bucket)",
      'a_total{kind="x}',
      "a_total{kind=x}",
      "sum(a_total",
      "",
      "a_total[1m]b",
    ]
  ) {
    assert.throws(() => parsePromql(bad), SyntaxError, bad);
  }
});

Deno.test("promql: Grafana variables, $x and ${x}; a missing one throws", () => {
  assert.equal(
    interpolate('a{i=~"$instance",j="${job}"}[$__range]', {
      instance: ".*",
      job: "im",
      __range: "9s",
    }),
    'a{i=~".*",j="im"}[9s]',
  );
  assert.throws(() => interpolate('a{i=~"$instance"}', {}), /no value for \$instance/);
});

Deno.test("promql: instant selectors take the newest sample at or before the time", () => {
  const scrapes = load([["g", { code: "1500" }, 1], ["g", { code: "503" }, 2]]);
  assertClose(run("g", scrapes, 12 * MINUTE), [['{"code":"1500"}', 2], ['{"code":"503"}', 4]]);
  // Regexes are anchored: 5.. is not 1500.
  assertClose(run('g{code=~"5.."}', scrapes, 50 * MINUTE), [['{"code":"503"}', 20]]);
  assertClose(run('g{code!~"5.."}', scrapes, 50 * MINUTE), [['{"code":"1500"}', 10]]);
  assertClose(run('g{code!="503"}', scrapes, 50 * MINUTE), [['{"code":"1500"}', 10]]);
  assertClose(run('g{code="404"}', scrapes, 50 * MINUTE), []);
});

Deno.test("promql: rate and increase over the window's samples, through counter resets", () => {
  const values = [0, 10, 20, 5, 15];
  const scrapes: Scrape[] = values.map((value, i) => ({
    at: i * 1000,
    samples: [{ name: "c_total", labels: {}, value }],
  }));
  // 10 + 10, then a reset to 5 (counted as 5), then 10: 35 over 4 s.
  assertClose(run("increase(c_total[1m])", scrapes, 4000), [["{}", 35]]);
  assertClose(run("rate(c_total[1m])", scrapes, 4000), [["{}", 35 / 4]]);
  // The window is left-open: [2s] at 4 s holds the samples at 3 s and 4 s.
  assertClose(run("increase(c_total[2s])", scrapes, 4000), [["{}", 10]]);
  // One sample is not a rate.
  assertClose(run("rate(c_total[1s])", scrapes, 4000), []);
  // A series that appears late is measured over its own samples' times.
  const late: Scrape[] = scrapes.map((scrape, i) => ({
    at: scrape.at,
    samples: i < 2 ? [] : [{ name: "n_total", labels: {}, value: i * 3 }],
  }));
  assertClose(run("rate(n_total[1m])", late, 4000), [["{}", 3]]);
});

Deno.test("promql: aggregations group by the named labels only", () => {
  const scrapes = load([
    ["h_total", { route: "/a", status: "200" }, 1],
    ["h_total", { route: "/a", status: "500" }, 2],
    ["h_total", { route: "/b", status: "200" }, 4],
  ]);
  const at = 50 * MINUTE;
  assertClose(run("sum(h_total)", scrapes, at), [["{}", 70]]);
  assertClose(run("sum by (status) (h_total)", scrapes, at), [
    ['{"status":"200"}', 50],
    ['{"status":"500"}', 20],
  ]);
  assertClose(run("max by (route) (h_total)", scrapes, at), [
    ['{"route":"/a"}', 20],
    ['{"route":"/b"}', 40],
  ]);
  assertClose(run("min(h_total)", scrapes, at), [["{}", 10]]);
  assertClose(run("avg(h_total)", scrapes, at), [["{}", 70 / 3]]);
  // A label no series has groups everything together, as in Prometheus.
  assertClose(run("sum by (nope) (h_total)", scrapes, at), [["{}", 70]]);
  assertClose(run('sum(h_total{route="/c"})', scrapes, at), []);
});

// The expected values are those of Prometheus' promql/promqltest/testdata/histograms.test.
Deno.test("promql: histogram_quantile gives Prometheus' own test results", () => {
  const scrapes = load([
    ["testhistogram_bucket", { le: "0.1", start: "positive" }, 5],
    ["testhistogram_bucket", { le: ".2", start: "positive" }, 7],
    ["testhistogram_bucket", { le: "1e0", start: "positive" }, 11],
    ["testhistogram_bucket", { le: "+Inf", start: "positive" }, 12],
    ["testhistogram_bucket", { le: "-.2", start: "negative" }, 1],
    ["testhistogram_bucket", { le: "-0.1", start: "negative" }, 2],
    ["testhistogram_bucket", { le: "0.3", start: "negative" }, 2],
    ["testhistogram_bucket", { le: "+Inf", start: "negative" }, 3],
  ]);
  const at = 50 * MINUTE;
  const quantile = (phi: number) =>
    run(`histogram_quantile(${phi}, rate(testhistogram_bucket[10m]))`, scrapes, at);
  const byStart = (positive: number, negative: number): [string, number][] => [
    ['{"start":"negative"}', negative],
    ['{"start":"positive"}', positive],
  ];
  assertClose(quantile(0), byStart(0, -0.2));
  assertClose(quantile(0.2), byStart(0.048, -0.2));
  assertClose(quantile(0.5), byStart(0.15, -0.15));
  assertClose(quantile(0.8), byStart(0.72, 0.3));
  assertClose(quantile(1), byStart(1, 0.3));
  assertClose(quantile(1.01), byStart(Infinity, Infinity).map(([l]) => [l, Infinity]));

  const requests = load([
    ["request_duration_seconds_bucket", { job: "job1", instance: "ins1", le: "0.1" }, 1],
    ["request_duration_seconds_bucket", { job: "job1", instance: "ins1", le: "0.2" }, 3],
    ["request_duration_seconds_bucket", { job: "job1", instance: "ins1", le: "+Inf" }, 4],
    ["request_duration_seconds_bucket", { job: "job1", instance: "ins2", le: "0.1" }, 2],
    ["request_duration_seconds_bucket", { job: "job1", instance: "ins2", le: "0.2" }, 5],
    ["request_duration_seconds_bucket", { job: "job1", instance: "ins2", le: "+Inf" }, 6],
    ["request_duration_seconds_bucket", { job: "job2", instance: "ins1", le: "0.1" }, 3],
    ["request_duration_seconds_bucket", { job: "job2", instance: "ins1", le: "0.2" }, 4],
    ["request_duration_seconds_bucket", { job: "job2", instance: "ins1", le: "+Inf" }, 6],
    ["request_duration_seconds_bucket", { job: "job2", instance: "ins2", le: "0.1" }, 4],
    ["request_duration_seconds_bucket", { job: "job2", instance: "ins2", le: "0.2" }, 7],
    ["request_duration_seconds_bucket", { job: "job2", instance: "ins2", le: "+Inf" }, 9],
  ]);
  const rate = "rate(request_duration_seconds_bucket[10m])";
  assertClose(run(`histogram_quantile(0.3, sum by (le) (${rate}))`, requests, at), [["{}", 0.075]]);
  assertClose(run(`histogram_quantile(0.5, sum by (le) (${rate}))`, requests, at), [[
    "{}",
    0.1277777777777778,
  ]]);
  assertClose(run(`histogram_quantile(0.3, sum by (le, job) (${rate}))`, requests, at), [
    ['{"job":"job1"}', 0.1],
    ['{"job":"job2"}', 0.0642857142857143],
  ]);
  assertClose(run(`histogram_quantile(0.5, sum by (le, instance) (${rate}))`, requests, at), [
    ['{"instance":"ins1"}', 0.1333333333333333],
    ['{"instance":"ins2"}', 0.125],
  ]);
});

Deno.test("promql: bucketQuantile's edges: no observations, no +Inf, non-monotonic", () => {
  assert.ok(Number.isNaN(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])));
  assert.ok(Number.isNaN(bucketQuantile(0.5, [{ le: 1, count: 3 }, { le: 2, count: 3 }])));
  assert.ok(Number.isNaN(bucketQuantile(NaN, [{ le: 1, count: 3 }, { le: Infinity, count: 3 }])));
  assert.equal(bucketQuantile(-1, [{ le: 1, count: 3 }, { le: Infinity, count: 3 }]), -Infinity);
  // Everything above the highest finite bound: that bound.
  assert.equal(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 4 }]), 1);
  // A dip (floating point in rates) is evened out before interpolating: the
  // bucket above it holds 0.5 observations, not 0.6 (which would give 3.5).
  const dipped = [
    { le: 1, count: 1 },
    { le: 2, count: 2.5 },
    { le: 3, count: 2.4 },
    { le: 4, count: 3 },
    { le: Infinity, count: 3 },
  ];
  assert.ok(Math.abs(bucketQuantile(0.9, dipped) - 3.4) < 1e-12);
});
