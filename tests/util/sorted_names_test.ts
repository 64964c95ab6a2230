import assert from "node:assert/strict";
import { SortedNames } from "../../lib/util/sorted_names.ts";
import { random } from "../store/agree.ts";

Deno.test("sorted names: add, has, delete keep the set sorted and unique", () => {
  const names = new SortedNames();
  const input = ["m", "c", "x", "a", "c", "q", "b"];
  assert.deepEqual(input.map((n) => names.add(n)), [true, true, true, true, false, true, true]);
  assert.deepEqual(names.page(undefined, 100), ["a", "b", "c", "m", "q", "x"]);
  assert.equal(names.has("q"), true);
  assert.equal(names.has("z"), false);
  assert.equal(names.delete("q"), true);
  assert.equal(names.delete("q"), false);
  assert.equal(names.size, 5);
});

Deno.test("sorted names: pages start after a name that need not be present", () => {
  const names = new SortedNames();
  for (let i = 0; i < 100; i++) names.add(`user_${String(i).padStart(3, "0")}`);
  const pages: string[][] = [];
  let after: string | undefined;
  do {
    const page = names.page(after, 30);
    pages.push(page);
    after = page.at(-1);
  } while (pages.at(-1)!.length === 30);
  assert.deepEqual(pages.map((p) => p.length), [30, 30, 30, 10]);
  assert.deepEqual(pages.flat(), names.page(undefined, 1000));
  assert.deepEqual(names.page("user_0505", 2), ["user_051", "user_052"]);
  assert.deepEqual(names.page("zzz", 2), []);
  assert.deepEqual(names.page("", 1), ["user_000"]);
});

Deno.test("sorted names: match a plain sorted array through random adds and deletes", () => {
  // Enough names to split chunks many times over, then drains that merge them.
  const next = random(0x5eed);
  const pool = Array.from(
    { length: 6000 },
    (_, i) => `${Math.floor(next() * 1e9).toString(36)}_${i}`,
  );
  const names = new SortedNames();
  const model = new Set<string>();
  const sorted = () => [...model].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let round = 0; round < 6; round++) {
    // Fill rounds add three times as often as they delete; drain rounds the reverse.
    const addShare = round % 2 === 0 ? 0.75 : 0.25;
    for (let op = 0; op < 8000; op++) {
      const name = pool[Math.floor(next() * pool.length)];
      if (next() < addShare) assert.equal(names.add(name), !model.has(name) && !!model.add(name));
      else assert.equal(names.delete(name), model.delete(name));
      if (op % 97 === 0) {
        assert.equal(names.size, model.size);
        assert.equal(names.has(name), model.has(name));
        const all = sorted();
        const after = next() < 0.2 ? undefined : pool[Math.floor(next() * pool.length)];
        const limit = 1 + Math.floor(next() * 700);
        const from = after === undefined ? 0 : all.findIndex((n) => n > after);
        const expected = from < 0 ? [] : all.slice(from, from + limit);
        assert.deepEqual(names.page(after, limit), expected, `page after ${after}, ${limit}`);
      }
    }
    assert.deepEqual(names.page(undefined, Infinity), sorted(), `round ${round}`);
    // A run of neighbours leaving (say, one team logging off) empties
    // chunks and leaves small ones on both sides of the gap.
    const all = sorted();
    const start = Math.floor(next() * all.length);
    for (const name of all.slice(start, start + 300)) names.delete(name), model.delete(name);
    for (const name of all.slice(start + 300).filter((_, i) => i % 3 !== 0)) {
      names.delete(name), model.delete(name);
    }
    assert.deepEqual(names.page(undefined, Infinity), sorted(), `round ${round}, after a run left`);
  }
  for (const name of sorted()) assert.equal(names.delete(name), true);
  assert.equal(names.size, 0);
  assert.deepEqual(names.page(undefined, 10), []);
  assert.equal(names.add("again"), true);
  assert.deepEqual(names.page(undefined, 10), ["again"]);
});
