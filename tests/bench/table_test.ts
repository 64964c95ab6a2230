import assert from "node:assert/strict";
import type { Figures } from "../../bench/figures.ts";
import { fmt, renderTable, type Row, warnings } from "../../bench/table.ts";

const figures = (over: Partial<Figures>): Figures => ({
  target: "huayi",
  expected: 100,
  received: 100,
  lost: 0,
  outOfOrder: 0,
  deliveredPerSecond: 1000,
  acceptedPerSecond: 1000,
  p50: 1,
  p90: 2,
  p99: 4,
  max: 9,
  toServerP50: NaN,
  toServerP99: NaN,
  fromServerP50: NaN,
  fromServerP99: NaN,
  generatorWriteP99: NaN,
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
  lagP99Ms: 3,
  lagMaxMs: 5,
  lagSamples: 100,
  commitP99Ms: NaN,
  commits: 0,
  serverDeliveryP99Ms: NaN,
  ...over,
});

const row = (
  target: "huayi" | "baseline",
  over: Partial<Figures>,
  store: "memory" | "sqlite" | undefined = target === "huayi" ? "memory" : undefined,
): Row => ({
  label: "p2p",
  scenario: "p2p",
  target,
  store,
  options: {} as Row["options"],
  figures: figures({ target, store, ...over }),
});

const cells = (line: string) => line.trim().split(/\s{2,}/);
// A line's cells by the columns the rule (the dashes under the header) marks.
const columns = (lines: string[], line: string) =>
  [...lines[1].matchAll(/-+/g)].map((m) => line.slice(m.index, m.index! + m[0].length).trim());

Deno.test("bench fmt: separators, digits, absent values", () => {
  assert.equal(fmt(12345.678, 1), "12,345.7");
  assert.equal(fmt(undefined), "-");
  assert.equal(fmt(null), "-");
  assert.equal(fmt(NaN), "-");
});

Deno.test("bench table: a ratio row for a label measured on both servers", () => {
  const lines = renderTable([
    row("huayi", { deliveredPerSecond: 500, p99: 8 }),
    row("baseline", { p99: 4, lagP99Ms: NaN, lagMaxMs: NaN }),
  ]);
  assert.equal(lines.length, 5, "header, rule, two rows, one ratio row");
  assert.deepEqual(cells(lines[0]).slice(0, 4), ["scenario", "server", "store", "deliv/s"]);
  assert.deepEqual(cells(lines[3]).slice(0, 3), ["p2p", "baseline", "-"]);
  const ratio = lines[4].split(/\s+/);
  assert.deepEqual(ratio.slice(0, 4), ["p2p", "ratio", "memory/base", "0.50"]);
  assert.ok(lines.every((line) => line.length === lines[0].length), "columns line up");
});

Deno.test("bench table: stores side by side, sqlite/memory ratios, empty columns left out", () => {
  const lines = renderTable([
    row("huayi", { deliveredPerSecond: 1000, lagP99Ms: 2 }, "memory"),
    row("huayi", { deliveredPerSecond: 800, lagP99Ms: 6, commitP99Ms: 1.5 }, "sqlite"),
  ]);
  const header = cells(lines[0]);
  assert.ok(header.includes("lag p99 ms") && header.includes("commit p99 ms"));
  assert.ok(!header.includes("drain ms"), "no row has a drain time");
  assert.ok(!header.includes("restart ms"), "no restart row");
  assert.equal(lines.length, 5, "header, rule, two rows, sqlite/memory");
  const ratio = columns(lines, lines[4]);
  assert.deepEqual(ratio.slice(0, 4), ["p2p", "ratio", "sqlite/memory", "0.80"]);
  assert.equal(ratio[header.indexOf("lag p99 ms")], "3.00");
  assert.equal(ratio[header.indexOf("lost")], "");
  assert.equal(columns(lines, lines[2])[header.indexOf("commit p99 ms")], "-");
  assert.equal(columns(lines, lines[3])[header.indexOf("commit p99 ms")], "1.5");
  assert.ok(lines.every((line) => line.length === lines[0].length), "columns line up");
});

Deno.test("bench table: restart and resume rows, and what they say against the targets", () => {
  const restart: Row = {
    ...row("huayi", {
      entries: 1_000_100,
      entriesAfterRestart: 1_000_100,
      messages: 9901,
      diskBytes: 250_025_000,
      bytesPerEntry: 250,
      firstStartMs: 300,
      stopMs: 900,
      restartMs: 1200,
    }, "sqlite"),
    label: "restart",
    scenario: "restart",
  };
  const header = cells(renderTable([restart])[0]);
  for (const heading of ["entries", "disk MB", "B/entry", "start ms", "restart ms"]) {
    assert.ok(header.includes(heading), heading);
  }
  const said = warnings([restart]);
  assert.equal(said.length, 1);
  assert.match(said[0], /1,000,100 entries \(9,901 messages\), 250 MB on disk = 250 B\/entry/);
  assert.match(said[0], /meets the target of ≤ 3 s/);
  const slow = { ...restart, figures: { ...restart.figures, restartMs: 3500 } };
  assert.match(warnings([slow])[0], /misses/);
  const lost = { ...restart, figures: { ...restart.figures, lost: 1 } };
  assert.match(warnings([lost])[0], /misses/);
  const resume: Row = {
    ...row("huayi", { drainMs: 120, resumedMs: 4, recovered: 1, expected: 10_000 }, "sqlite"),
    label: "resume",
    scenario: "resume",
  };
  assert.match(warnings([resume])[0], /replayed in 120 ms .*recovered true.*: meets the target/);
  const missing = { ...resume, figures: { ...resume.figures, lost: 3 } };
  assert.match(warnings([missing])[0], /misses/);
});

Deno.test("bench warnings: saturated generators and a busy machine are named", () => {
  assert.deepEqual(warnings([row("huayi", {})]), []);
  const found = warnings([row("huayi", { generatorCpu: 95, otherCpu: 40 })]);
  assert.equal(found.length, 2);
  assert.match(found[0], /^p2p on huayi \(memory\): .*generator, not the server/);
  assert.match(found[1], /quiet machine/);
});

Deno.test("bench warnings: the latency's two parts when the frames carried sent-at, else nothing", () => {
  assert.deepEqual(warnings([row("baseline", {})]), []);
  const split = { toServerP50: 0.8, toServerP99: 58, fromServerP50: 2.1, fromServerP99: 9.3 };
  assert.deepEqual(warnings([row("huayi", split)]), [
    "p2p on huayi (memory): the latency in two parts (the server's sent-at, whole ms): " +
    "send → accepted p50 0.8, p99 58 ms; accepted → read p50 2.1, p99 9.3 ms",
  ]);
  assert.deepEqual(warnings([row("huayi", { ...split, generatorWriteP99: 6.4 })]), [
    "p2p on huayi (memory): the latency in two parts (the server's sent-at, whole ms): " +
    "send → accepted p50 0.8, p99 58 ms (the generators' own build → written p99 6.4 ms); " +
    "accepted → read p50 2.1, p99 9.3 ms",
  ]);
});

Deno.test("bench table: accepted per second only where nothing was delivered (--no-sockets)", () => {
  const delivered = renderTable([row("huayi", {})]);
  assert.ok(!cells(delivered[0]).includes("acc/s"), "a run with deliveries has no acc/s column");
  const stored = renderTable([
    row("huayi", { received: 0, expected: 0, deliveredPerSecond: 0, acceptedPerSecond: 5998.4 }),
  ]);
  const header = cells(stored[0]);
  const at = header.indexOf("acc/s");
  assert.ok(at > 0, "the column is there");
  assert.equal(cells(stored[2])[at], "5,998");
});
