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

Deno.test("log: stderrLogger writes one formatted line per event, now-stamped", () => {
  const lines: string[] = [];
  const log = stderrLogger((line) => lines.push(line));
  const before = Date.now();
  log("login", { user: "Harry" });
  log("logout");
  assert.equal(lines.length, 2);
  const [stamp, rest] = [lines[0].slice(0, 24), lines[0].slice(25)];
  assert.equal(rest, "login user=Harry\n");
  assert.ok(Date.parse(stamp) >= before - 1 && Date.parse(stamp) <= Date.now(), stamp);
  assert.match(lines[1], /Z logout\n$/);
});

Deno.test("log: silentLogger writes nothing anywhere", () => {
  const lines: string[] = [];
  const log = stderrLogger((line) => lines.push(line));
  silentLogger("anything", { a: 1 });
  assert.deepEqual(lines, []);
  log("something");
  assert.equal(lines.length, 1);
});
