import assert from "node:assert/strict";
import { parseExposition, sampleValue } from "./exposition_parser.ts";

const VALID = [
  "# HELP im_messages_accepted_total Messages \\\\ accepted\\nby kind.",
  "# TYPE im_messages_accepted_total counter",
  'im_messages_accepted_total{kind="direct"} 3',
  'im_messages_accepted_total{kind="a\\\\b\\"c\\nd"} 1',
  "# HELP im_connections_open Open sockets.",
  "# TYPE im_connections_open gauge",
  "im_connections_open -Inf",
  "# HELP im_delivery_seconds Delivery time.",
  "# TYPE im_delivery_seconds histogram",
  'im_delivery_seconds_bucket{route="x",le="0.1"} 1',
  'im_delivery_seconds_bucket{route="x",le="1"} 3',
  'im_delivery_seconds_bucket{route="x",le="+Inf"} 4',
  'im_delivery_seconds_sum{route="x"} 7.25',
  'im_delivery_seconds_count{route="x"} 4',
  "",
].join("\n");

Deno.test("parser: reads families, help, types, labels and values", () => {
  const families = parseExposition(VALID);
  assert.deepEqual([...families.keys()], [
    "im_messages_accepted_total",
    "im_connections_open",
    "im_delivery_seconds",
  ]);
  const accepted = families.get("im_messages_accepted_total")!;
  assert.equal(accepted.help, "Messages \\ accepted\nby kind.");
  assert.equal(accepted.type, "counter");
  assert.deepEqual(accepted.samples[1], {
    name: "im_messages_accepted_total",
    labels: { kind: 'a\\b"c\nd' },
    value: 1,
  });
  assert.equal(sampleValue(families, "im_connections_open"), -Infinity);
  assert.equal(sampleValue(families, "im_delivery_seconds_bucket", { route: "x", le: "1" }), 3);
  assert.equal(sampleValue(families, "im_delivery_seconds_sum", { route: "x" }), 7.25);
  assert.equal(families.get("im_delivery_seconds")!.samples.length, 5);
  assert.equal(parseExposition("").size, 0);
});

/** Replaces one line of {@linkcode VALID} (1-based), or removes it for `null`. */
function withLine(lineNumber: number, line: string | null): string {
  const lines = VALID.split("\n");
  if (line === null) lines.splice(lineNumber - 1, 1);
  else lines[lineNumber - 1] = line;
  return lines.join("\n");
}

const INVALID: [string, string, RegExp][] = [
  ["no final line feed", VALID.slice(0, -1), /must end with a line feed/],
  ["a blank line", withLine(5, ""), /line 5: empty line/],
  ["a free comment", withLine(5, "# hello"), /line 5: only # HELP and # TYPE/],
  ["a sample before any family", "x 1\n", /line 1: sample before any # HELP/],
  ["TYPE without HELP", withLine(1, null), /line 1: # TYPE not right after/],
  ["HELP without TYPE", withLine(6, null), /line 6: # HELP not followed by # TYPE/],
  ["an unsupported type", withLine(6, "# TYPE im_connections_open summary"), /unsupported type/],
  [
    "a family split in two groups",
    VALID + "# HELP im_connections_open Again.\n# TYPE im_connections_open gauge\n",
    /line 15: family im_connections_open appears twice/,
  ],
  [
    "a sample of another family inside a group",
    withLine(7, 'im_messages_accepted_total{kind="topic"} 1'),
    /line 7: sample im_messages_accepted_total is outside its family's group/,
  ],
  ["a repeated series", withLine(4, 'im_messages_accepted_total{kind="direct"} 1'), /repeated/],
  ["a repeated label", withLine(3, 'im_messages_accepted_total{kind="a",kind="b"} 1'), /repeated/],
  ["a bad escape", withLine(3, 'im_messages_accepted_total{kind="a\\tb"} 1'), /invalid escape/],
  ["a raw quote", withLine(3, 'im_messages_accepted_total{kind="a"b"} 1'), /expected , or }/],
  ["an unterminated value", withLine(3, 'im_messages_accepted_total{kind="a} 1'), /unterminated/],
  ["a trailing comma", withLine(3, 'im_messages_accepted_total{kind="a",} 1'), /label name/],
  ["empty braces", withLine(3, "im_messages_accepted_total{} 1"), /label name/],
  ["a reserved label", withLine(3, 'im_messages_accepted_total{__x="a"} 1'), /reserved/],
  ["a bad help escape", withLine(1, "# HELP im_messages_accepted_total a\\tb"), /escape/],
  ["a timestamp", withLine(7, "im_connections_open 1 1700000000000"), /invalid value/],
  ["two spaces", withLine(7, "im_connections_open  1"), /invalid value/],
  ["a bad number", withLine(7, "im_connections_open 1.2.3"), /invalid value/],
  ["a lower-case inf", withLine(7, "im_connections_open inf"), /invalid value/],
  ["a negative counter", withLine(3, 'im_messages_accepted_total{kind="direct"} -1'), /below zero/],
  [
    "buckets that are not cumulative",
    withLine(11, 'im_delivery_seconds_bucket{route="x",le="1"} 0'),
    /not cumulative/,
  ],
  [
    "buckets out of le order",
    withLine(11, 'im_delivery_seconds_bucket{route="x",le="0.05"} 3'),
    /does not increase/,
  ],
  [
    "_sum before the buckets",
    withLine(13, null).replace(
      "im_delivery_seconds_bucket",
      'im_delivery_seconds_sum{route="x"} 7\nim_delivery_seconds_bucket',
    ),
    /buckets must come before _sum/,
  ],
  ["no +Inf bucket", withLine(12, null), /does not end with le="\+Inf"/],
  ["+Inf unlike _count", withLine(14, 'im_delivery_seconds_count{route="x"} 5'), /differs/],
  ["no _sum", withLine(13, null), /has no _sum/],
  ["no _count", withLine(14, null), /has no _count/],
  ["a bucket without le", withLine(10, 'im_delivery_seconds_bucket{route="x"} 1'), /no le/],
  [
    "a fractional bucket",
    withLine(10, 'im_delivery_seconds_bucket{route="x",le="0.1"} 0.5'),
    /whole/,
  ],
  ["le on _sum", withLine(13, 'im_delivery_seconds_sum{route="x",le="1"} 1'), /must not have/],
  [
    "series with different buckets",
    VALID.replace(
      "im_delivery_seconds_sum",
      'im_delivery_seconds_bucket{route="y",le="+Inf"} 0\n' +
        'im_delivery_seconds_sum{route="y"} 0\nim_delivery_seconds_count{route="y"} 0\n' +
        "im_delivery_seconds_sum",
    ),
    /has buckets \[\], others \[0.1,1\]/,
  ],
];

for (const [what, text, message] of INVALID) {
  Deno.test(`parser: rejects ${what}`, () => {
    assert.throws(() => parseExposition(text), (error: unknown) => {
      assert.ok(error instanceof SyntaxError, String(error));
      assert.match(error.message, message);
      return true;
    });
  });
}
