import assert from "node:assert/strict";
import {
  Counter,
  DEFAULT_BUCKETS,
  EXPOSITION_CONTENT_TYPE,
  Gauge,
  Histogram,
  Registry,
} from "../../lib/telemetry/metrics.ts";
import { parseExposition, sampleValue } from "./exposition_parser.ts";

Deno.test("metrics: the content type is the 0.0.4 text format", () => {
  assert.equal(EXPOSITION_CONTENT_TYPE, "text/plain; version=0.0.4");
});

Deno.test("metrics: a small registry exposes exactly this text", () => {
  const registry = new Registry();
  registry.counter("im_connections_accepted_total", "Sockets accepted.").inc(2);
  const accepted = registry.counter("im_messages_accepted_total", "Messages accepted.", {
    labelNames: ["kind"],
  });
  accepted.labels("topic").inc();
  accepted.labels("direct").inc(4);
  registry.gauge("im_connections_open", "Open sockets.").set(7);
  const commit = registry.histogram("im_store_commit_seconds", "Commit time.", {
    buckets: [0.001, 0.01],
  });
  commit.observe(0.0005);
  commit.observe(0.01);
  commit.observe(0.5);
  assert.equal(
    registry.expose(),
    `# HELP im_connections_accepted_total Sockets accepted.
# TYPE im_connections_accepted_total counter
im_connections_accepted_total 2
# HELP im_messages_accepted_total Messages accepted.
# TYPE im_messages_accepted_total counter
im_messages_accepted_total{kind="topic"} 1
im_messages_accepted_total{kind="direct"} 4
# HELP im_connections_open Open sockets.
# TYPE im_connections_open gauge
im_connections_open 7
# HELP im_store_commit_seconds Commit time.
# TYPE im_store_commit_seconds histogram
im_store_commit_seconds_bucket{le="0.001"} 1
im_store_commit_seconds_bucket{le="0.01"} 2
im_store_commit_seconds_bucket{le="+Inf"} 3
im_store_commit_seconds_sum 0.5105
im_store_commit_seconds_count 3
`,
  );
  assert.equal(parseExposition(registry.expose()).size, 4);
});

Deno.test("metrics: an empty registry and an unused family", () => {
  const registry = new Registry();
  assert.equal(registry.expose(), "");
  registry.counter("im_socket_closes_total", "Closes by code.", { labelNames: ["code"] });
  const text = registry.expose();
  assert.equal(
    text,
    "# HELP im_socket_closes_total Closes by code.\n# TYPE im_socket_closes_total counter\n",
  );
  assert.deepEqual(parseExposition(text).get("im_socket_closes_total")?.samples, []);
});

Deno.test("metrics: counters only go up", () => {
  const counter = new Counter();
  counter.inc();
  counter.inc(0);
  counter.inc(2.5);
  assert.equal(counter.value, 3.5);
  assert.throws(() => counter.inc(-1), RangeError);
  assert.throws(() => counter.inc(NaN), RangeError);
  assert.equal(counter.value, 3.5);
});

Deno.test("metrics: gauges set, rise and fall", () => {
  const gauge = new Gauge();
  gauge.inc();
  gauge.inc(4);
  gauge.dec();
  gauge.dec(10);
  assert.equal(gauge.value, -6);
  gauge.set(0.25);
  assert.equal(gauge.value, 0.25);
});

Deno.test("metrics: a family returns the same child for the same values", () => {
  const registry = new Registry();
  const requests = registry.counter("im_http_requests_total", "HTTP requests.", {
    labelNames: ["route", "status"],
  });
  const ok = requests.labels("/api/topics/{topic}", "200");
  assert.equal(requests.labels("/api/topics/{topic}", "200"), ok);
  // Values that would collide if joined naively stay apart.
  const a = requests.labels("a,b", "c");
  const b = requests.labels("a", "b,c");
  assert.notEqual(a, b);
  ok.inc();
  ok.inc();
  a.inc();
  const families = parseExposition(registry.expose());
  const labels = (route: string, status: string) => ({ route, status });
  assert.equal(
    sampleValue(families, "im_http_requests_total", labels("/api/topics/{topic}", "200")),
    2,
  );
  assert.equal(sampleValue(families, "im_http_requests_total", labels("a,b", "c")), 1);
  assert.equal(sampleValue(families, "im_http_requests_total", labels("a", "b,c")), 0);
  assert.deepEqual(requests.labelNames, ["route", "status"]);
  // @ts-expect-error: one value for two names
  assert.throws(() => requests.labels("/"), TypeError);
  // @ts-expect-error: a number is not a label value
  assert.throws(() => requests.labels("/", 200), TypeError);
});

Deno.test("metrics: hostile label values survive escaping exactly", () => {
  const hostile = [
    'quote " inside',
    "back\\slash",
    "trailing backslash \\",
    "new\nline",
    "\\n literally",
    '\\"',
    "braces } { and , = commas",
    "unicode: 华易 ünïcödé 😀 \u2028",
    "",
    "tab\tand carriage\rreturn",
  ];
  const registry = new Registry();
  const family = registry.gauge("im_hostile", "Hostile values.", { labelNames: ["value", "i"] });
  hostile.forEach((value, i) => family.labels(value, String(i)).set(i));
  registry.gaugeFunc(
    "im_hostile_collected",
    "Hostile values, collected.",
    () => hostile.map((value, i) => [[value], i] as const),
    { labelNames: ["value"] },
  );
  const families = parseExposition(registry.expose());
  const samples = families.get("im_hostile")!.samples;
  assert.deepEqual(samples.map((s) => s.labels.value), hostile);
  hostile.forEach((value, i) => {
    assert.equal(sampleValue(families, "im_hostile", { value, i: String(i) }), i);
    assert.equal(sampleValue(families, "im_hostile_collected", { value }), i);
  });
  // Each sample stays on one line: only the line feeds between samples remain.
  assert.equal(registry.expose().split("\n").length, 2 * 2 + 2 * hostile.length + 1);
});

Deno.test("metrics: help text is escaped and round-trips", () => {
  const help = 'Line one\nline two with \\ and "quotes" and 😀';
  const registry = new Registry();
  registry.gauge("im_help", help);
  assert.match(registry.expose(), /^# HELP im_help Line one\\nline two with \\\\ and "quotes"/);
  assert.equal(parseExposition(registry.expose()).get("im_help")?.help, help);
});

Deno.test("metrics: special and large values are formatted the Prometheus way", () => {
  const registry = new Registry();
  const gauge = registry.gauge("im_value", "A value.", { labelNames: ["case"] });
  const cases: [string, number, string][] = [
    ["inf", Infinity, "+Inf"],
    ["minus_inf", -Infinity, "-Inf"],
    ["nan", NaN, "NaN"],
    ["zero", -0, "0"],
    ["integer", 123456789, "123456789"],
    ["big_integer", 2 ** 70, "1180591620717411303424"],
    ["fraction", 0.1 + 0.2, "0.30000000000000004"],
    ["tiny", 1e-9, "1e-9"],
  ];
  for (const [name, value] of cases) gauge.labels(name).set(value);
  const text = registry.expose();
  for (const [name, value, written] of cases) {
    assert.ok(text.includes(`im_value{case="${name}"} ${written}\n`), `${name}: ${text}`);
    const parsed = sampleValue(parseExposition(text), "im_value", { case: name });
    assert.ok(Object.is(parsed, value) || (value === 0 && parsed === 0), `${name}: ${parsed}`);
  }
});

Deno.test("metrics: histogram buckets are inclusive upper bounds", () => {
  const histogram = new Histogram({ buckets: [1, 2, 5] });
  for (const value of [-3, 0, 1, 1.0000001, 2, 4.9, 5, 5.1, 1e9, Infinity]) {
    histogram.observe(value);
  }
  assert.deepEqual(histogram.buckets, [1, 2, 5]);
  assert.deepEqual(histogram.cumulativeCounts(), [3, 5, 7, 10]);
  assert.equal(histogram.count, 10);
  assert.equal(histogram.sum, Infinity);
});

Deno.test("metrics: a NaN observation lands only in +Inf", () => {
  const histogram = new Histogram({ buckets: [1] });
  histogram.observe(NaN);
  assert.deepEqual(histogram.cumulativeCounts(), [0, 1]);
  assert.ok(Number.isNaN(histogram.sum));
});

Deno.test("metrics: default buckets are Centrifugo's 100 µs to 10 s", () => {
  assert.deepEqual(DEFAULT_BUCKETS, [
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
  ]);
  assert.deepEqual(new Histogram().buckets, DEFAULT_BUCKETS);
  assert.ok(Object.isFrozen(DEFAULT_BUCKETS));
});

Deno.test("metrics: a histogram with many observations exposes exact cumulative counts", () => {
  const registry = new Registry();
  const family = registry.histogram("im_delivery_seconds", "Delivery time.", {
    labelNames: ["kind"],
  });
  const direct = family.labels("direct");
  const topic = family.labels("topic");
  // A fixed-seed generator keeps a failure reproducible.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const values: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    // Log-uniform from 10 µs to 100 s, so that every bucket and +Inf get some.
    const value = 10 ** (random() * 7 - 5);
    values.push(value);
    direct.observe(value);
  }
  for (const bound of DEFAULT_BUCKETS) topic.observe(bound);
  const families = parseExposition(registry.expose());
  const bucket = (kind: string, le: string) =>
    sampleValue(families, "im_delivery_seconds_bucket", { kind, le });
  for (const bound of DEFAULT_BUCKETS) {
    const expected = values.filter((value) => value <= bound).length;
    assert.equal(bucket("direct", String(bound)), expected, `le=${bound}`);
    assert.equal(bucket("topic", String(bound)), DEFAULT_BUCKETS.indexOf(bound) + 1);
  }
  assert.ok(values.some((value) => value > 10), "some observations above every bound");
  assert.equal(bucket("direct", "+Inf"), 100_000);
  assert.equal(sampleValue(families, "im_delivery_seconds_count", { kind: "direct" }), 100_000);
  const sum = sampleValue(families, "im_delivery_seconds_sum", { kind: "direct" })!;
  const expectedSum = values.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - expectedSum) < 1e-6 * expectedSum, `${sum} vs ${expectedSum}`);
});

Deno.test("metrics: histogram buckets are copied and validated", () => {
  const registry = new Registry();
  const buckets = [0.5, 1];
  const histogram = registry.histogram("im_copied_seconds", "Copied.", { buckets });
  buckets[0] = 100;
  assert.deepEqual(histogram.buckets, [0.5, 1]);
  for (const bad of [[1, 1], [2, 1], [NaN], [1, Infinity], [-Infinity, 0]]) {
    assert.throws(() => new Histogram({ buckets: bad }), RangeError, String(bad));
    assert.throws(() => registry.histogram("im_bad_seconds", "Bad.", { buckets: bad }), RangeError);
  }
  // A failed registration leaves the name free.
  registry.histogram("im_bad_seconds", "Good now.");
});

Deno.test("metrics: collected metrics are read at each scrape, not before", () => {
  const registry = new Registry();
  let reads = 0;
  let open = 1;
  registry.gaugeFunc("im_connections_open", "Open sockets.", () => {
    reads++;
    return open;
  });
  const closes = new Map<string, number>();
  registry.counterFunc(
    "im_socket_closes_total",
    "Closes by code.",
    () => [...closes].map(([code, n]) => [[code], n] as const),
    { labelNames: ["code"] },
  );
  assert.equal(reads, 0);
  assert.equal(sampleValue(parseExposition(registry.expose()), "im_connections_open"), 1);
  open = 5;
  closes.set("1000", 3);
  closes.set("4001", 1);
  const families = parseExposition(registry.expose());
  assert.equal(reads, 2);
  assert.equal(sampleValue(families, "im_connections_open"), 5);
  assert.equal(sampleValue(families, "im_socket_closes_total", { code: "1000" }), 3);
  assert.equal(sampleValue(families, "im_socket_closes_total", { code: "4001" }), 1);
  assert.equal(families.get("im_socket_closes_total")?.type, "counter");
});

Deno.test("metrics: bad collected readings make the scrape throw", () => {
  const registry = new Registry();
  let readings: (readonly [readonly string[], number])[] = [];
  registry.gaugeFunc("im_sockets", "Sockets by state.", () => readings, {
    labelNames: ["state"] as string[],
  });
  readings = [[["open", "extra"], 1]];
  assert.throws(() => registry.expose(), TypeError);
  readings = [[["open"], 1], [["open"], 2]];
  assert.throws(() => registry.expose(), /read \{state="open"\} twice/);
  readings = [[["open"], 1], [["closing"], 2]];
  assert.match(registry.expose(), /^im_sockets\{state="closing"\} 2$/m);
  registry.counterFunc("im_broken_total", "Throws.", () => {
    throw new Error("boom");
  });
  assert.throws(() => registry.expose(), /boom/);
});

Deno.test("metrics: invalid names are refused at registration", () => {
  const registry = new Registry();
  for (const name of ["", "1abc", "im-open", "im open", "im:open", "im_ö", "im_open{}"]) {
    assert.throws(() => registry.gauge(name, "Bad."), TypeError, JSON.stringify(name));
  }
  assert.throws(() => registry.counter("im_accepted", "No suffix."), TypeError);
  assert.throws(() => registry.counterFunc("im_accepted", "No suffix.", () => 1), TypeError);
  assert.throws(() => registry.gauge("im_no_help", ""), TypeError);
  for (const label of ["__reserved", "1a", "a-b", "", "ü"]) {
    assert.throws(
      () => registry.gauge("im_labelled", "Bad label.", { labelNames: [label] }),
      TypeError,
      JSON.stringify(label),
    );
  }
  assert.throws(
    () => registry.gauge("im_labelled", "Twice.", { labelNames: ["a", "a"] }),
    /appears twice/,
  );
  assert.throws(
    () => registry.histogram("im_le_seconds", "Le.", { labelNames: ["le"] }),
    /"le" label/,
  );
  assert.throws(
    () => registry.gaugeFunc("im_f", "Bad label.", () => [], { labelNames: ["__x"] }),
    TypeError,
  );
  // Nothing above registered anything.
  assert.equal(registry.expose(), "");
  // Only histograms reserve "le".
  registry.gauge("im_gauge_le", "Fine.", { labelNames: ["le"] }).labels("x").set(1);
  assert.match(registry.expose(), /^im_gauge_le\{le="x"\} 1$/m);
});

Deno.test("metrics: a name is registered once, histogram samples included", () => {
  const registry = new Registry();
  registry.counter("im_accepted_total", "Accepted.");
  assert.throws(() => registry.counter("im_accepted_total", "Again."), /already registered/);
  assert.throws(() => registry.counterFunc("im_accepted_total", "Again.", () => 1), Error);
  assert.throws(
    () => registry.counter("im_accepted_total", "Again.", { labelNames: ["kind"] }),
    /already registered/,
  );
  registry.histogram("im_delivery_seconds", "Delivery.");
  for (const name of ["im_delivery_seconds_bucket", "im_delivery_seconds_sum"]) {
    assert.throws(() => registry.gauge(name, "Clash."), /already registered/, name);
  }
  assert.throws(() => registry.gaugeFunc("im_delivery_seconds_count", "Clash.", () => 1), Error);
  registry.gauge("im_wait_count", "Registered first.");
  assert.throws(() => registry.histogram("im_wait", "Clash."), /im_wait_count is already/);
  // The failed histogram took no names.
  registry.gauge("im_wait", "Free.");
  parseExposition(registry.expose());
});
