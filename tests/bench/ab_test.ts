import assert from "node:assert/strict";
import { compare, report, type RunFigures } from "../../bench/ab.ts";
import { perCpuSecond } from "../../bench/stats.ts";

const run = (serverCpu: number, extra: Partial<RunFigures> = {}): RunFigures => ({
  deliveredPerSecond: 6000,
  serverCpu,
  p99: 5,
  lost: 0,
  rssMb: 90,
  ...extra,
});

Deno.test("bench ab: medians of each side and the median of the pairs' ratios", () => {
  const c = compare([run(60), run(62), run(66)], [run(72), run(73), run(75)]);
  assert.equal(c.serverCpu.a, 62);
  assert.equal(c.serverCpu.b, 73);
  assert.equal(c.serverCpu.ratio, 73 / 62, "the middle pair's ratio");
  assert.equal(c.serverCpu.low, 75 / 66);
  assert.equal(c.serverCpu.high, 72 / 60);
  assert.equal(c.perCpuSecond.a, 6000 / 0.62);
  assert.ok(Math.abs(c.perCpuSecond.ratio - 62 / 73) < 1e-12, "CPU per delivery, inverted");
});

Deno.test("bench ab: pairs are ratios of neighbours, not of the sorted medians", () => {
  // A drifts up, B with it: each pair says ×1.1 though the medians say more.
  const c = compare([run(10), run(50), run(90)], [run(11), run(55), run(99)]);
  assert.ok(Math.abs(c.serverCpu.ratio - 1.1) < 1e-12);
  assert.ok(Math.abs(c.serverCpu.low - 1.1) < 1e-12 && Math.abs(c.serverCpu.high - 1.1) < 1e-12);
});

Deno.test("bench ab: a run that delivered nothing counts for no ratio; losses add up", () => {
  const c = compare(
    [run(60, { lost: 2 }), run(60)],
    [run(70, { deliveredPerSecond: 0, lost: 5 }), run(66)],
  );
  assert.ok(Number.isNaN(perCpuSecond(run(70, { deliveredPerSecond: 0 }))));
  assert.equal(c.perCpuSecond.low, c.perCpuSecond.high, "one pair left");
  assert.deepEqual(c.lost, { a: 2, b: 5 });
  assert.throws(() => compare([run(1)], []), RangeError);
  assert.throws(() => compare([], []), RangeError);
});

Deno.test("bench ab: the report shows both medians and the pairs' ratio with its range", () => {
  const lines = report(compare([run(60), run(62)], [run(72), run(75)]), "v1", "main");
  assert.match(lines[0], /v1 +main/);
  assert.equal(lines[2], "srv CPU%            61       74    ×1.20  (1.20–1.21)");
  assert.match(lines[3], /^p99 ms +5\.0 +5\.0 +×1\.00/);
  assert.match(lines.at(-1)!, /^lost +0 +0$/);
});

Deno.test("bench ab: Redis's CPU is compared when every run was a cluster run", () => {
  const cluster = (cpu: number, redisCpu: number) => run(cpu, { redisCpu });
  const c = compare([cluster(80, 50), cluster(82, 52)], [cluster(80, 45), cluster(81, 47)]);
  assert.equal(c.redisCpu?.a, 51);
  assert.equal(c.redisCpu?.b, 46);
  assert.match(report(c, "A", "B").join("\n"), /redis CPU% +51 +46 +×0\.90/);
  const mixed = compare([cluster(80, 50)], [run(80)]);
  assert.equal(mixed.redisCpu, undefined, "one side without Redis: nothing to compare");
  assert.doesNotMatch(report(mixed, "A", "B").join("\n"), /redis/);
});

Deno.test("bench ab: the server's CPU by thread is compared when every run has it", () => {
  const split = (mainUser: number) => ({ mainUser, mainSystem: 6, others: 2 });
  const c = compare([run(16, { threads: split(10) })], [run(22, { threads: split(13) })]);
  assert.ok(Math.abs(c.threads!.mainUser.ratio - 1.3) < 1e-12);
  const text = report(c, "A", "B").join("\n");
  assert.match(text, /main usr% +10\.0 +13\.0 +×1\.30/);
  assert.match(text, /main sys% +6\.0 +6\.0 +×1\.00/);
  assert.match(text, /other thr% +2\.0 +2\.0/);
  assert.equal(compare([run(16, { threads: split(10) })], [run(22)]).threads, undefined);
});

Deno.test("bench ab: a backlog's drain and the RSS per socket are compared when every run has them", () => {
  const c = compare(
    [run(4, { drainMs: 80 }), run(4, { drainMs: 78 })],
    [run(3, { drainMs: 66 }), run(3, { drainMs: 70 })],
  );
  assert.equal(c.drainMs?.a, 79);
  assert.equal(c.drainMs?.b, 68);
  assert.match(report(c, "A", "B").join("\n"), /drain ms +79\.0 +68\.0 +×0\.86/);
  assert.equal(c.rssPerSocketKb, undefined);
  const idle = (cpu: number, rssPerSocket: number) => run(cpu, { p99: null, rssPerSocket });
  const sockets = compare([idle(15, 31_000)], [idle(16, 34_000)]);
  const text = report(sockets, "A", "B").join("\n");
  assert.match(text, /KB\/socket +31\.0 +34\.0 +×1\.10/);
  assert.match(text, /p99 ms +- +- +×-/, "no latency in a run of idle sockets");
  assert.equal(compare([run(1, { drainMs: 5 })], [run(1)]).drainMs, undefined);
});
