import assert from "node:assert/strict";
import type { Figures } from "../../bench/run.ts";
import { fmt, renderTable, type Row, warnings } from "../../bench/table.ts";

const figures = (over: Partial<Figures>): Figures => ({
  target: "huayi",
  expected: 100,
  received: 100,
  lost: 0,
  outOfOrder: 0,
  deliveredPerSecond: 1000,
  p50: 1,
  p90: 2,
  p99: 4,
  max: 9,
  serverCpu: 50,
  generatorCpu: 20,
  otherCpu: 0,
  serverCoreCpu: 60,
  generatorCoreCpu: 30,
  interruptCpu: 10,
  rejected: 0,
  rssMb: 100,
  peakRssMb: 120,
  rssPerSocket: 0,
  rssPerUser: 0,
  connected: 10,
  dropped: 0,
  probes: 0,
  rssTimelineMb: [],
  ...over,
});

const row = (target: "huayi" | "baseline", over: Partial<Figures>): Row => ({
  label: "p2p",
  scenario: "p2p",
  target,
  options: {} as Row["options"],
  figures: figures({ target, ...over }),
});

Deno.test("bench fmt: separators, digits, absent values", () => {
  assert.equal(fmt(12345.678, 1), "12,345.7");
  assert.equal(fmt(undefined), "-");
  assert.equal(fmt(null), "-");
  assert.equal(fmt(NaN), "-");
});

Deno.test("bench table: a ratio row for a label measured on both servers", () => {
  const lines = renderTable([
    row("huayi", { deliveredPerSecond: 500, p99: 8 }),
    row("baseline", { p99: 4 }),
  ]);
  assert.equal(lines.length, 5, "header, rule, two rows, one ratio row");
  const ratio = lines[4].split(/\s+/);
  assert.deepEqual(ratio.slice(0, 3), ["p2p", "ratio", "0.50"]);
  assert.ok(lines.every((line) => line.length === lines[0].length), "columns line up");
});

Deno.test("bench warnings: saturated generators and a busy machine are named", () => {
  assert.deepEqual(warnings([row("huayi", {})]), []);
  const found = warnings([row("huayi", { generatorCpu: 95, otherCpu: 40 })]);
  assert.equal(found.length, 2);
  assert.match(found[0], /generator, not the server/);
  assert.match(found[1], /quiet machine/);
});
