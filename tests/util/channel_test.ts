import assert from "node:assert/strict";
import { Channel, ChannelClosedError } from "../../lib/util/channel.ts";

Deno.test("channel: constructor rejects a capacity below 1 or not whole", () => {
  assert.throws(() => new Channel(0), RangeError);
  assert.throws(() => new Channel(-1), RangeError);
  assert.throws(() => new Channel(1.5), RangeError);
  assert.throws(() => new Channel(NaN), RangeError);
  assert.equal(new Channel(1).capacity, 1);
});

Deno.test("channel: trySend fills up to capacity, then reports full", () => {
  const channel = new Channel<number>(3);
  assert.equal(channel.full, false);
  assert.equal(channel.trySend(1), true);
  assert.equal(channel.trySend(2), true);
  assert.equal(channel.size, 2);
  assert.equal(channel.trySend(3), true);
  assert.equal(channel.full, true);
  assert.equal(channel.trySend(4), false);
  assert.equal(channel.size, 3);
  assert.deepEqual(channel.close(), [1, 2, 3]);
});

Deno.test("channel: values come out in FIFO order", () => {
  const channel = new Channel<number>(100);
  for (let i = 0; i < 100; i++) channel.trySend(i);
  const out: number[] = [];
  for (let v = channel.tryReceive(); v !== undefined; v = channel.tryReceive()) out.push(v);
  assert.deepEqual(out, [...Array(100).keys()]);
  channel.close();
});

Deno.test("channel: tryReceive returns undefined when empty", () => {
  const channel = new Channel<string>(2);
  assert.equal(channel.tryReceive(), undefined);
  channel.trySend("a");
  assert.equal(channel.tryReceive(), "a");
  assert.equal(channel.tryReceive(), undefined);
  channel.close();
});

Deno.test("channel: async iteration yields everything and ends on close", async () => {
  const channel = new Channel<number>(2);
  const seen: number[] = [];
  const loop = (async () => {
    for await (const v of channel) seen.push(v);
  })();
  for (let i = 0; i < 5; i++) await channel.send(i);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(channel.close().length, 0);
  await loop;
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

Deno.test("channel: close() returns what was buffered and iteration then ends at once", async () => {
  const channel = new Channel<number>(4);
  channel.trySend(1);
  channel.trySend(2);
  const left = channel.close();
  assert.deepEqual(left, [1, 2]);
  assert.equal(channel.size, 0);
  assert.equal(channel.closed, true);
  const seen: number[] = [];
  for await (const v of channel) seen.push(v);
  assert.deepEqual(seen, []);
  assert.deepEqual(channel.close(), [], "a second close returns nothing");
  assert.equal(channel.trySend(3), false, "trySend on a closed channel fails");
});

Deno.test("channel: a waiting receiver gets a later trySend directly", async () => {
  const channel = new Channel<string>(1);
  const pending = channel.receive();
  assert.equal(channel.trySend("x"), true);
  assert.equal(channel.size, 0, "handed over, not buffered");
  assert.deepEqual(await pending, { value: "x", done: false });
  // The channel still has its full room afterwards.
  assert.equal(channel.trySend("y"), true);
  assert.equal(channel.full, true);
  channel.close();
});

Deno.test("channel: a waiting receiver finishes when the channel closes", async () => {
  const channel = new Channel<string>(1);
  const pending = channel.receive();
  channel.close();
  assert.equal((await pending).done, true);
});

Deno.test("channel: send() waits for room and senders are admitted in order", async () => {
  const channel = new Channel<string>(1);
  await channel.send("a");
  const order: string[] = [];
  const b = channel.send("b").then(() => order.push("b"));
  const c = channel.send("c").then(() => order.push("c"));
  await Promise.resolve();
  assert.deepEqual(order, []);
  assert.equal(channel.size, 1);
  assert.equal(channel.tryReceive(), "a");
  await b;
  assert.deepEqual(order, ["b"]);
  assert.equal(channel.size, 1);
  assert.equal(channel.trySend("z"), false, "room went to the waiting sender");
  assert.equal(channel.tryReceive(), "b");
  await c;
  assert.deepEqual(order, ["b", "c"]);
  assert.deepEqual(channel.close(), ["c"]);
});

Deno.test("channel: send() with an async receiver admits waiting senders as values are taken", async () => {
  const channel = new Channel<number>(2);
  const sends = [];
  for (let i = 0; i < 6; i++) sends.push(channel.send(i));
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    const { value } = await channel.receive();
    seen.push(value);
  }
  await Promise.all(sends);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  channel.close();
});

Deno.test("channel: send() with AbortSignal.timeout rejects and does not queue the value", async () => {
  const channel = new Channel<string>(1);
  channel.trySend("a");
  const started = Date.now();
  await assert.rejects(
    channel.send("late", { signal: AbortSignal.timeout(20) }),
    (error: Error) => error.name === "TimeoutError",
  );
  assert.ok(Date.now() - started >= 15);
  assert.equal(channel.tryReceive(), "a");
  assert.equal(channel.tryReceive(), undefined, "the timed-out value never entered");
  assert.equal(channel.size, 0);
  assert.deepEqual(channel.close(), []);
});

Deno.test("channel: send() with an already aborted signal rejects at once", async () => {
  const channel = new Channel<string>(1);
  channel.trySend("a");
  const controller = new AbortController();
  controller.abort(new Error("gave up"));
  await assert.rejects(channel.send("b", { signal: controller.signal }), /gave up/);
  assert.deepEqual(channel.close(), ["a"]);
});

Deno.test("channel: an aborted waiting sender leaves the others in order", async () => {
  const channel = new Channel<string>(1);
  channel.trySend("a");
  const controller = new AbortController();
  const b = channel.send("b", { signal: controller.signal });
  const c = channel.send("c");
  controller.abort(new Error("stop b"));
  await assert.rejects(b, /stop b/);
  assert.equal(channel.tryReceive(), "a");
  await c;
  assert.deepEqual(channel.close(), ["c"]);
});

Deno.test("channel: send() on a closed channel rejects with ChannelClosedError", async () => {
  const channel = new Channel<number>(1);
  channel.close();
  await assert.rejects(channel.send(1), ChannelClosedError);
});

Deno.test("channel: waiting senders are rejected on close and their values are not returned", async () => {
  const channel = new Channel<number>(1);
  channel.trySend(1);
  const controller = new AbortController();
  const a = channel.send(2, { signal: controller.signal });
  const b = channel.send(3);
  assert.deepEqual(channel.close(), [1]);
  await assert.rejects(a, ChannelClosedError);
  await assert.rejects(b, ChannelClosedError);
  controller.abort(); // no listener left behind: nothing happens
});

Deno.test("channel: retain() removes values and admits waiting senders into the room", async () => {
  const channel = new Channel<number>(3);
  channel.trySend(1);
  channel.trySend(2);
  channel.trySend(3);
  const four = channel.send(4);
  const five = channel.send(5);
  const six = channel.send(6);
  assert.equal(channel.retain((v) => v % 2 === 1), 1);
  await four;
  assert.equal(channel.size, 3, "one slot freed, one sender admitted");
  let fiveSettled = false;
  five.then(() => fiveSettled = true, () => {});
  await Promise.resolve();
  assert.equal(fiveSettled, false, "no room for 5 yet");
  assert.equal(channel.retain((v) => v !== 1 && v !== 3), 2);
  await five;
  await six;
  assert.deepEqual(channel.close(), [4, 5, 6]);
});
