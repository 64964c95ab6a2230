import assert from "node:assert/strict";
import { Directory, MAX_SHOWN, nameBelow, PAGE_SIZE } from "../../web/directory.js";
import { SortedNames } from "../../lib/util/sorted_names.ts";

const NAME = /^[a-zA-Z0-9_-]{4,30}$/;
const ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

// A tiny deterministic generator, so a failure can be replayed.
function random(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function randomName(next: () => number, min = 4, max = 30) {
  const length = min + Math.floor(next() * (max - min + 1));
  let name = "";
  for (let i = 0; i < length; i++) name += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return name;
}

Deno.test("nameBelow: a valid name below every name with the prefix, and none in between", () => {
  assert.equal(nameBelow(""), undefined);
  assert.equal(nameBelow("Harry"), "Harrx" + "z".repeat(25));
  assert.equal(nameBelow("ha"), "h_" + "z".repeat(28));
  assert.equal(nameBelow("abcd-"), "abcd", "the lowest character: the head itself");
  assert.equal(nameBelow("a-"), "_" + "z".repeat(29));
  assert.equal(nameBelow("-"), undefined, "nothing is below the lowest name");
  assert.equal(nameBelow("----"), undefined);
  const next = random(7);
  const names = Array.from({ length: 2000 }, () => randomName(next));
  for (let i = 0; i < 300; i++) {
    const prefix = randomName(next, 1, 6);
    const below = nameBelow(prefix);
    if (below === undefined) continue;
    assert.match(below, NAME, prefix);
    assert.ok(below < prefix, prefix);
    // No name with the prefix is at or below it.
    for (const name of names) if (name.startsWith(prefix)) assert.ok(name > below, name);
  }
});

// A fake server: the same paging as the real one (lib/util/sorted_names.ts).
function server(all: string[], online: string[] = []) {
  const users = new SortedNames();
  for (const name of all) users.add(name);
  const live = new SortedNames();
  for (const name of online) live.add(name);
  const asked: { after?: string; limit: number; online?: boolean }[] = [];
  const fetch = (page: { after?: string; limit: number; online?: boolean }) => {
    asked.push(page);
    assert.ok(page.limit >= 1 && page.limit <= 1000, `limit ${page.limit}`);
    if (page.after !== undefined) assert.match(page.after, NAME);
    const names = page.online ? live : users;
    return Promise.resolve({ names: names.page(page.after, page.limit), total: names.size });
  };
  return { fetch, asked };
}

Deno.test("directory: a page at a time, never the whole list, with presence for what it shows", async () => {
  const all = Array.from({ length: 5000 }, (_, i) => `user_${String(i).padStart(4, "0")}`);
  const { fetch, asked } = server(all, ["user_0003", "user_0049", "user_0050", "user_4000"]);
  const people = new Directory(fetch, true);
  await people.refresh();
  assert.equal(people.names.length, PAGE_SIZE);
  assert.deepEqual(people.names.slice(0, 2), ["user_0000", "user_0001"]);
  assert.equal(people.total, 5000);
  assert.equal(people.more, true);
  assert.deepEqual([...people.online], ["user_0003", "user_0049"]);
  assert.equal(people.covers("user_0049"), true);
  assert.equal(people.covers("user_0050"), false, "past the page: presence unknown");
  assert.ok(asked.every((page) => page.limit === PAGE_SIZE + 1));

  people.showMore();
  await people.refresh();
  assert.equal(people.names.length, 2 * PAGE_SIZE);
  assert.deepEqual([...people.online], ["user_0003", "user_0049", "user_0050"]);
  for (let i = 0; i < 100; i++) people.showMore();
  assert.equal(people.shown, MAX_SHOWN);
  await people.refresh();
  assert.equal(people.names.length, MAX_SHOWN);
  assert.equal(people.canShowMore, false, "bounded even when more follow");
});

Deno.test("directory: a search asks from the prefix on and keeps only the names with it", async () => {
  const all = ["Hagrid", "Harry", "Harry_P", "Hermione", "Luna", "hagrid2", "harry-2"];
  const { fetch } = server(all, ["Harry_P", "Luna"]);
  const people = new Directory(fetch, true);
  assert.equal(people.setQuery("Har"), true);
  await people.refresh();
  assert.deepEqual(people.names, ["Harry", "Harry_P"], "case-sensitive, as the server sorts");
  assert.equal(people.more, false);
  assert.deepEqual([...people.online], ["Harry_P"]);
  assert.equal(people.covers("Harry_Q"), true, "in range: known not to exist or be online");
  assert.equal(people.covers("Luna"), false);
  assert.equal(people.setQuery("Har"), false, "unchanged");
  people.setQuery("h");
  await people.refresh();
  assert.deepEqual(people.names, ["hagrid2", "harry-2"]);
  people.setQuery("no such");
  await people.refresh();
  assert.deepEqual(people.names, [], "a space is not in a name: nothing matches");
  people.setQuery("-");
  await people.refresh();
  assert.deepEqual(people.names, [], "the lowest character: from the start of the list");
});

Deno.test("directory: an answer overtaken by a newer refresh is dropped", async () => {
  let release: () => void = () => {};
  const slow = new Promise<void>((resolve) => release = resolve);
  let calls = 0;
  const topics = new Directory(async ({ after }) => {
    if (calls++ === 0) await slow;
    return { names: after === undefined ? ["old_topic"] : ["potions"], total: 1 };
  }, false);
  const first = topics.refresh();
  topics.setQuery("pot");
  assert.equal(await topics.refresh(), true);
  release();
  assert.equal(await first, false);
  assert.deepEqual(topics.names, ["potions"]);
});
