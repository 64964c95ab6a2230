import assert from "node:assert/strict";
import { Records } from "../../lib/util/records.ts";

function values(records: Records): number[][] {
  return Array.from({ length: records.length }, (_, i) => [records.get(i, 0), records.get(i, 1)]);
}

function push(records: Records, a: number, b: number): void {
  const i = records.push();
  records.set(i, 0, a);
  records.set(i, 1, b);
}

Deno.test("Records keeps pushed records in order across growth and shifts", () => {
  const records = new Records(2, 1);
  for (let n = 0; n < 1000; n++) {
    push(records, n, -n);
    if (n % 3 === 0) records.shift();
  }
  assert.equal(records.length, 1000 - 334);
  assert.deepEqual(values(records)[0], [334, -334]);
  assert.deepEqual(values(records).at(-1), [999, -999]);
  for (let i = 1; i < records.length; i++) {
    assert.equal(records.get(i, 0), records.get(i - 1, 0) + 1);
  }
});

Deno.test("Records.shift past the end empties it", () => {
  const records = new Records(2);
  push(records, 1, 1);
  records.shift(5);
  assert.equal(records.length, 0);
  push(records, 2, 3);
  assert.deepEqual(values(records), [[2, 3]]);
});

Deno.test("Records.retain filters in place and keeps order", () => {
  const records = new Records(2);
  for (let n = 0; n < 10; n++) push(records, n, n * 10);
  records.shift();
  records.retain((i) => records.get(i, 0) % 2 === 0);
  assert.deepEqual(values(records), [[2, 20], [4, 40], [6, 60], [8, 80]]);
  records.retain(() => false);
  assert.equal(records.length, 0);
});

Deno.test("Records gives memory back once a large backlog has drained", () => {
  const records = new Records(2);
  for (let n = 0; n < 100_000; n++) push(records, n, n);
  records.shift(99_990);
  assert.equal(records.length, 10);
  assert.deepEqual(values(records)[0], [99_990, 99_990]);
  // Refilling after the shrink still keeps order.
  for (let n = 100_000; n < 100_100; n++) push(records, n, n);
  assert.equal(records.length, 110);
  for (let i = 1; i < records.length; i++) {
    assert.equal(records.get(i, 0), records.get(i - 1, 0) + 1);
  }
});

Deno.test("Records past one page grows a page at a time, never copying what it holds", () => {
  const records = new Records(2);
  for (let n = 0; n < 4096; n++) push(records, n, n);
  assert.equal(records.capacity, 4096);
  push(records, 4096, 4096);
  // A doubling would have made room for 8,192 by copying all 4,096.
  assert.equal(records.capacity, 2 * 4096);
  for (let n = 4097; n < 3 * 4096 + 5; n++) push(records, n, -n);
  assert.equal(records.capacity, 4 * 4096);
  assert.deepEqual(values(records).slice(4095, 4098), [[4095, 4095], [4096, 4096], [4097, -4097]]);
});

Deno.test("Records shifts and filters across pages, and gives the pages back", () => {
  const records = new Records(2);
  const total = 5 * 4096 + 17;
  for (let n = 0; n < total; n++) push(records, n, n * 2);
  records.shift(2 * 4096 + 3);
  assert.equal(records.length, total - (2 * 4096 + 3));
  assert.deepEqual(values(records)[0], [2 * 4096 + 3, 2 * (2 * 4096 + 3)]);
  // The two pages the front passed are gone.
  assert.equal(records.capacity, 4 * 4096);
  records.retain((i) => records.get(i, 0) % 1000 === 0);
  const kept = values(records).map(([a]) => a);
  assert.deepEqual(kept, Array.from({ length: 12 }, (_, i) => (i + 9) * 1000));
  assert.ok(records.capacity <= 64, `capacity ${records.capacity} after filtering down to 12`);
  for (let n = 0; n < 5000; n++) push(records, total + n, 0);
  assert.equal(records.length, 12 + 5000);
  assert.equal(records.get(12 + 4999, 0), total + 4999);
  records.shift(records.length);
  assert.equal(records.length, 0);
  assert.ok(records.capacity < 4096);
});

Deno.test("Records matches a plain array through random pushes, shifts and filters", () => {
  // A fixed-seed generator (xorshift), so a failure repeats.
  let seed = 0x2545f491;
  const random = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const records = new Records(2);
  let model: number[] = [];
  let next = 0;
  let longest = 0;
  for (let step = 0; step < 20_000; step++) {
    const op = random(100);
    if (op < 70) {
      for (let n = random(900); n > 0; n--, next++) {
        push(records, next, -next);
        model.push(next);
      }
    } else if (op < 95) {
      const count = random(model.length + 200);
      records.shift(count);
      model = model.slice(count);
    } else {
      const mod = 2 + random(5);
      records.retain((i) => records.get(i, 0) % mod !== 0);
      model = model.filter((v) => v % mod !== 0);
    }
    assert.equal(records.length, model.length);
    longest = Math.max(longest, model.length);
    if (model.length > 0) {
      const i = random(model.length);
      assert.deepEqual([records.get(i, 0), records.get(i, 1)], [model[i], -model[i]]);
      assert.equal(records.get(model.length - 1, 0), model.at(-1));
    }
  }
  assert.deepEqual(values(records).map(([a]) => a), model);
  // It went through several pages, not only the small first one.
  assert.ok(longest > 3 * 4096, `longest ${longest}`);
});
