/**
 * `SortedNames` against the one sorted array it replaced (a splice per add
 * or delete): names added in random order, then all deleted in another.
 * Run with `deno bench bench/micro/sorted_names_bench.ts`.
 *
 * @module
 */

import { SortedNames } from "../../lib/util/sorted_names.ts";

// The former implementation, kept here only as the baseline.
class OneArray {
  readonly #names: string[] = [];
  add(name: string): void {
    const i = this.#indexOf(name);
    if (this.#names[i] !== name) this.#names.splice(i, 0, name);
  }
  delete(name: string): void {
    const i = this.#indexOf(name);
    if (this.#names[i] === name) this.#names.splice(i, 1);
  }
  #indexOf(name: string): number {
    let lo = 0;
    let hi = this.#names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#names[mid] < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

for (const count of [19_000, 100_000]) {
  const names = Array.from(
    { length: count },
    (_, i) => `user_${(i * 2654435761 >>> 0).toString(36)}`,
  );
  const leaving = names.map((name, i) => [(i * 40503) % count, name] as const)
    .sort(([a], [b]) => a - b).map(([, name]) => name);
  const group = `${count} names`;
  Deno.bench(`one array, ${group}`, { group, baseline: true }, () => {
    const set = new OneArray();
    for (const name of names) set.add(name);
    for (const name of leaving) set.delete(name);
  });
  Deno.bench(`SortedNames, ${group}`, { group }, () => {
    const set = new SortedNames();
    for (const name of names) set.add(name);
    for (const name of leaving) set.delete(name);
  });
}
