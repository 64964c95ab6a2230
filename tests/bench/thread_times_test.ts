import assert from "node:assert/strict";
import {
  busiestWindow,
  readThreadSeconds,
  type ThreadSample,
  ThreadWatch,
} from "../../bench/thread_times.ts";
import { parseStatTimes } from "../../bench/proc_stats.ts";

const seconds = (mainUser: number, mainSystem = 0, others = 0) => ({
  mainUser,
  mainSystem,
  others,
});
const sample = (s: number, ...pids: [number, ReturnType<typeof seconds>][]): ThreadSample => ({
  at: s * 1000,
  byPid: new Map(pids),
});

Deno.test("bench thread times: a stat line's user and system ticks, past a name with ') ' in it", () => {
  assert.deepEqual(parseStatTimes("12 (odd) (name) R 1 2 3 4 5 6 7 8 9 10 250 75 0 0"), {
    user: 2.5,
    system: 0.75,
  });
});

Deno.test("bench thread times: the busiest window wins, in percent of a core per part", () => {
  const samples = [
    sample(0, [1, seconds(0)]),
    sample(1, [1, seconds(0.1)]),
    sample(2, [1, seconds(0.9, 0.2, 0.1)]),
    sample(3, [1, seconds(1.7, 0.4, 0.2)]),
    sample(4, [1, seconds(1.8, 0.4, 0.2)]),
  ];
  const split = busiestWindow(samples, 2)!;
  assert.ok(Math.abs(split.mainUser - 80) < 1e-9, `${split.mainUser}`);
  assert.ok(Math.abs(split.mainSystem - 20) < 1e-9);
  assert.ok(Math.abs(split.others - 10) < 1e-9);
  assert.equal(busiestWindow(samples, 5), undefined, "shorter than the window: nothing");
});

Deno.test("bench thread times: processes add up, and one seen only on one side counts nothing", () => {
  const samples = [
    sample(0, [1, seconds(1)], [2, seconds(5)]),
    sample(1, [1, seconds(1.5)], [2, seconds(5.25)], [3, seconds(100)]),
  ];
  // pid 2 exits, pid 3 appears: each step counts the pids seen at both its ends,
  // so pid 3's 100 s from before the watch never count, its next 0.5 s do.
  samples.push(sample(2, [1, seconds(2)], [3, seconds(100.5)]));
  assert.deepEqual(busiestWindow(samples.slice(0, 2), 1), seconds(75, 0, 0));
  assert.deepEqual(busiestWindow(samples, 2), seconds(87.5, 0, 0));
});

Deno.test("bench thread times: a real busy process is seen by its command line", async () => {
  const marker = `thread-watch-${crypto.randomUUID()}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", `const end = Date.now() + 2500; while (Date.now() < end); // ${marker}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const watch = new ThreadWatch(marker, 200);
  await child.status;
  const split = await watch.stop(1);
  assert.ok(split !== undefined, "the child was sampled");
  assert.ok(split.mainUser > 50, `a busy loop is main-thread user time: ${split.mainUser} %`);
  assert.equal(await readThreadSeconds(child.pid), undefined, "an exited process reads as gone");
});
