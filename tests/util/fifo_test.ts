import assert from "node:assert/strict";
import { Fifo } from "../../lib/util/fifo.ts";

function drain<T>(queue: Fifo<T>): T[] {
  const out: T[] = [];
  while (queue.length > 0) out.push(queue.shift()!);
  return out;
}

Deno.test("fifo: push and shift keep order; empty shift and peek give undefined", () => {
  const queue = new Fifo<string>();
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.peek(), undefined);
  queue.push("a");
  queue.push("b");
  queue.push("c");
  assert.equal(queue.length, 3);
  assert.equal(queue.peek(), "a");
  assert.equal(queue.length, 3, "peek leaves the item in place");
  assert.equal(queue.shift(), "a");
  assert.equal(queue.peek(), "b");
  assert.deepEqual(drain(queue), ["b", "c"]);
  assert.equal(queue.length, 0);
  assert.equal(queue.peek(), undefined);
});

Deno.test("fifo: order holds across compaction (push 5000, shift 3000, push more)", () => {
  const queue = new Fifo<number>();
  for (let i = 0; i < 5000; i++) queue.push(i);
  for (let i = 0; i < 3000; i++) assert.equal(queue.shift(), i);
  assert.equal(queue.length, 2000);
  assert.equal(queue.peek(), 3000);
  for (let i = 5000; i < 8000; i++) queue.push(i);
  assert.equal(queue.length, 5000);
  // Interleave to cross the compaction threshold again while pushing.
  const out: number[] = [];
  for (let i = 0; i < 2500; i++) {
    out.push(queue.shift()!);
    queue.push(8000 + i);
  }
  out.push(...drain(queue));
  assert.deepEqual(out, Array.from({ length: 7500 }, (_, i) => 3000 + i));
});

Deno.test("fifo: unshiftAll puts items in front in their order, also after shifts", () => {
  const queue = new Fifo<number>();
  queue.unshiftAll([]);
  assert.equal(queue.length, 0);
  for (let i = 0; i < 2000; i++) queue.push(i);
  for (let i = 0; i < 1500; i++) queue.shift();
  queue.unshiftAll([-3, -2, -1]);
  assert.equal(queue.length, 503);
  assert.equal(queue.peek(), -3);
  const out = drain(queue);
  assert.deepEqual(out.slice(0, 5), [-3, -2, -1, 1500, 1501]);
  assert.equal(out.at(-1), 1999);
  queue.unshiftAll([7, 8]);
  queue.push(9);
  assert.deepEqual(drain(queue), [7, 8, 9]);
});

Deno.test("fifo: retain keeps matching items in order and counts the removed", () => {
  const queue = new Fifo<number>();
  for (let i = 0; i < 10; i++) queue.push(i);
  queue.shift();
  queue.shift();
  assert.equal(queue.retain((n) => n % 2 === 0), 4);
  assert.equal(queue.length, 4);
  assert.deepEqual(drain(queue), [2, 4, 6, 8]);
  assert.equal(queue.retain(() => false), 0);
});

Deno.test("fifo: clear returns the remaining items oldest first and empties", () => {
  const queue = new Fifo<string>();
  queue.push("a");
  queue.push("b");
  queue.push("c");
  queue.shift();
  assert.deepEqual(queue.clear(), ["b", "c"]);
  assert.equal(queue.length, 0);
  assert.equal(queue.shift(), undefined);
  assert.deepEqual(queue.clear(), []);
  queue.push("d");
  assert.deepEqual(drain(queue), ["d"]);
});
