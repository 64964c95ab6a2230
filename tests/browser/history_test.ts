import assert from "node:assert/strict";
import { History, MAX_ENTRIES_PER_CONVERSATION, MAX_STORED_CHARS } from "../../web/history.js";

// A Storage that can be told to refuse writes past a size, like a full browser quota.
class MemoryStorage implements Pick<Storage, "getItem" | "setItem" | "removeItem"> {
  readonly items = new Map<string, string>();
  constructor(readonly quota = Infinity) {}
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    if (value.length > this.quota) throw new DOMException("full", "QuotaExceededError");
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

function message(content: string, at: number) {
  return { kind: "message" as const, from: "Ron", to: ["Harry"], topic: "", content, at };
}

Deno.test("history: survives a reload, per user, with unread counts and memberships", () => {
  const storage = new MemoryStorage();
  const harry = new History("Harry", storage as unknown as Storage);
  harry.add("user", "Ron", message("hi", 1), true);
  harry.add("topic", "quidditch", { kind: "notice", text: "deleted", at: 2 }, false);
  harry.setJoined("quidditch", true);
  harry.flush();

  const again = new History("Harry", storage as unknown as Storage);
  assert.deepEqual(again.get("user:Ron")?.entries, [message("hi", 1)]);
  assert.equal(again.get("user:Ron")?.unread, 1);
  assert.equal(again.get("topic:quidditch")?.entries[0].kind, "notice");
  assert.equal(again.isJoined("quidditch"), true);
  again.markRead("user:Ron");
  again.flush();
  assert.equal(new History("Harry", storage as unknown as Storage).get("user:Ron")?.unread, 0);
  assert.equal(new History("Ron", storage as unknown as Storage).list().length, 0);
});

Deno.test("history: each conversation keeps only its newest entries", () => {
  const storage = new MemoryStorage();
  const history = new History("Harry", storage as unknown as Storage);
  for (let i = 0; i < MAX_ENTRIES_PER_CONVERSATION + 10; i++) {
    history.add("user", "Ron", message(`m${i}`, i), false);
  }
  history.flush();
  const entries = new History("Harry", storage as unknown as Storage).get("user:Ron")!.entries;
  assert.equal(entries.length, MAX_ENTRIES_PER_CONVERSATION);
  assert.equal(entries[0].kind === "message" && entries[0].content, "m10");
});

Deno.test("history: the stored size is capped by dropping the oldest entries overall", () => {
  const storage = new MemoryStorage();
  const history = new History("Harry", storage as unknown as Storage);
  const big = "x".repeat(10_000);
  for (let i = 0; i < 150; i++) {
    history.add(i % 2 ? "user" : "topic", i % 2 ? "Ron" : "potions", message(big, i), false);
    // Flushing each time is the worst case: the cap must hold at every write.
    history.flush();
    assert.ok(storage.getItem("huayi-im:history:Harry")!.length <= MAX_STORED_CHARS);
  }
  const stored = storage.getItem("huayi-im:history:Harry")!;
  assert.ok(stored.length <= MAX_STORED_CHARS, `${stored.length} chars`);
  const kept = new History("Harry", storage as unknown as Storage).list()
    .flatMap((c) => c.entries.map((e) => e.at)).sort((x, y) => x - y);
  assert.equal(kept[kept.length - 1], 149, "the newest entry is kept");
  assert.ok(kept[0] > 0, "the oldest entries went first");
});

Deno.test("history: a full quota halves the history instead of failing", () => {
  const storage = new MemoryStorage(5_000);
  const history = new History("Harry", storage as unknown as Storage);
  for (let i = 0; i < 100; i++) {
    history.add("user", "Ron", message(`message ${i}`, i), false);
    history.flush();
  }
  const stored = new History("Harry", storage as unknown as Storage).get("user:Ron")!.entries;
  assert.ok(stored.length > 0 && stored.length < 100);
  assert.equal(stored[stored.length - 1].at, 99);
});

Deno.test("history: stored data that is not ours is ignored", () => {
  const storage = new MemoryStorage();
  storage.setItem("huayi-im:history:Harry", "{not json");
  assert.deepEqual(new History("Harry", storage as unknown as Storage).list(), []);
  storage.setItem(
    "huayi-im:history:Harry",
    JSON.stringify({
      conversations: [
        { type: "user", name: "Ron", entries: [message("ok", 1), { kind: "evil" }], unread: -3 },
        { type: "bogus", name: "x", entries: [] },
      ],
      joined: ["potions", 7],
    }),
  );
  const history = new History("Harry", storage as unknown as Storage);
  assert.deepEqual(history.list().map((c) => [c.id, c.entries.length, c.unread]), [
    ["user:Ron", 1, 0],
  ]);
  assert.equal(history.isJoined("potions"), true);
});

Deno.test("history: a burst of entries is written once, shortly after", async () => {
  const storage = new MemoryStorage();
  let writes = 0;
  const counting = {
    getItem: (key: string) => storage.getItem(key),
    setItem: (key: string, value: string) => (writes++, storage.setItem(key, value)),
  };
  const history = new History("Harry", counting as unknown as Storage);
  for (let i = 0; i < 50; i++) history.add("user", "Ron", message(`m${i}`, i), true);
  assert.equal(writes, 0);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(writes, 1);
  assert.equal(new History("Harry", storage as unknown as Storage).get("user:Ron")?.unread, 50);
});
