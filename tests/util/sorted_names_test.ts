import assert from "node:assert/strict";
import { SortedNames } from "../../lib/util/sorted_names.ts";

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
