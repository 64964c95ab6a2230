import assert from "node:assert/strict";
import { formatLine, silentLogger, stderrLogger } from "../../lib/telemetry/log.ts";

const AT = new Date(0);

Deno.test("log: formatLine writes time, event and key=value fields", () => {
  assert.equal(
    formatLine(AT, "login", { user: "Harry", replaced: false, backlog: 3 }),
    "1970-01-01T00:00:00.000Z login user=Harry replaced=false backlog=3",
  );
  assert.equal(formatLine(AT, "tick", {}), "1970-01-01T00:00:00.000Z tick");
});

Deno.test("log: values with spaces, quotes, equals signs or nothing are JSON-quoted", () => {
  assert.equal(
    formatLine(AT, "disconnect", { user: "Ron", reason: "slow consumer" }),
    '1970-01-01T00:00:00.000Z disconnect user=Ron reason="slow consumer"',
  );
  const line = formatLine(AT, "e", {
    quote: 'say "hi"',
    eq: "a=b",
    nl: "a\nb",
    tab: "a\tb",
    empty: "",
  });
  assert.equal(
    line,
    '1970-01-01T00:00:00.000Z e quote="say \\"hi\\"" eq="a=b" nl="a\\nb" tab="a\\tb" empty=""',
  );
  assert.equal(line.split("\n").length, 1, "one event is one line");
});

Deno.test("log: undefined fields are left out", () => {
  assert.equal(formatLine(AT, "e", { a: undefined, b: 1 }), "1970-01-01T00:00:00.000Z e b=1");
});

Deno.test("log: silentLogger and stderrLogger accept events", () => {
  silentLogger("anything", { a: 1 });
  assert.equal(typeof stderrLogger(), "function");
});
