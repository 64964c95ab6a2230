import assert from "node:assert/strict";
import {
  type Entry,
  History,
  MAX_ENTRIES_PER_CONVERSATION,
  MAX_STORED_CHARS,
} from "../../web/history.js";

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

function message(content: string, at: number, seq: number | undefined = at, id = `id-${content}`) {
  return { kind: "message" as const, id, seq, from: "Ron", to: ["Harry"], topic: "", content, at };
}

const texts = (entries: Entry[] | undefined) =>
  (entries ?? []).map((e) => e.kind === "message" ? e.content : e.text);

Deno.test("history: survives a reload, per user, with unread counts and memberships", () => {
  const storage = new MemoryStorage();
  const harry = new History("Harry", storage as unknown as Storage);
  harry.insert("user", "Ron", message("hi", 1));
  harry.bumpUnread("user:Ron");
  harry.insert("topic", "quidditch", { kind: "notice", text: "deleted", at: 2 });
  harry.setJoined("quidditch", true);
  harry.cursor = 7;
  harry.flush();

  const again = new History("Harry", storage as unknown as Storage);
  assert.deepEqual(again.get("user:Ron")?.entries, [message("hi", 1)]);
  assert.equal(again.get("user:Ron")?.unread, 1);
  assert.equal(again.get("topic:quidditch")?.entries[0].kind, "notice");
  assert.equal(again.isJoined("quidditch"), true);
  assert.equal(again.cursor, 7, "the resume point survives a reload");
  again.markRead("user:Ron");
  again.flush();
  assert.equal(new History("Harry", storage as unknown as Storage).get("user:Ron")?.unread, 0);
  assert.equal(new History("Ron", storage as unknown as Storage).list().length, 0);
});

Deno.test("history: each conversation keeps only its newest entries", () => {
  const storage = new MemoryStorage();
  const history = new History("Harry", storage as unknown as Storage);
  for (let i = 0; i < MAX_ENTRIES_PER_CONVERSATION + 10; i++) {
    history.insert("user", "Ron", message(`m${i}`, i));
  }
  history.flush();
  const entries = new History("Harry", storage as unknown as Storage).get("user:Ron")!.entries;
  assert.equal(entries.length, MAX_ENTRIES_PER_CONVERSATION);
  assert.equal(entries[0].kind === "message" && entries[0].content, "m10");
  assert.equal(history.get("user:Ron")!.entries.length, MAX_ENTRIES_PER_CONVERSATION + 10);
  assert.equal(
    new History("Harry", storage as unknown as Storage).get("user:Ron")!.more,
    true,
    "what was not written is still on the server",
  );
});

Deno.test("history: the stored size is capped by dropping the oldest entries overall", () => {
  const storage = new MemoryStorage();
  const history = new History("Harry", storage as unknown as Storage);
  const big = "x".repeat(10_000);
  for (let i = 0; i < 150; i++) {
    history.insert(i % 2 ? "user" : "topic", i % 2 ? "Ron" : "potions", message(big, i, i, `${i}`));
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
    history.insert("user", "Ron", message(`message ${i}`, i));
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
  for (let i = 0; i < 50; i++) {
    history.insert("user", "Ron", message(`m${i}`, i));
    history.bumpUnread("user:Ron");
  }
  assert.equal(writes, 0);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(writes, 1);
  assert.equal(new History("Harry", storage as unknown as Storage).get("user:Ron")?.unread, 50);
});

Deno.test("history: entries are shown once, in seq order, whichever way they came", () => {
  const history = new History("Harry", new MemoryStorage() as unknown as Storage);
  // Live entries, then an older page from history, then a replay of one of them.
  assert.equal(history.insert("user", "Ron", message("five", 50, 5)), true);
  assert.equal(history.insert("user", "Ron", message("six", 60, 6)), true);
  for (const seq of [4, 3]) {
    history.insert("user", "Ron", message(["", "", "", "three", "four"][seq], seq * 10, seq));
  }
  assert.equal(history.insert("user", "Ron", message("five", 50, 5)), false, "a replay");
  assert.deepEqual(texts(history.get("user:Ron")?.entries), ["three", "four", "five", "six"]);
  assert.equal(history.oldestSeq("user:Ron"), 3);
  assert.equal(history.newestSeq("user:Ron"), 6);
});

Deno.test("history: one's own send is shown at once and takes its seq from the echo", () => {
  const history = new History("Harry", new MemoryStorage() as unknown as Storage);
  history.insert("user", "Ron", message("one", 10, 1));
  const mine = { ...message("mine", 20, 0, "m-1"), seq: undefined, from: "Harry", to: ["Ron"] };
  assert.equal(history.insert("user", "Ron", mine), true);
  // Someone else's message was accepted first (seq 2), the echo of ours is seq 3.
  history.insert("user", "Ron", message("theirs", 19, 2));
  assert.deepEqual(texts(history.get("user:Ron")?.entries), ["one", "mine", "theirs"]);
  assert.equal(
    history.insert("user", "Ron", { ...mine, seq: 3 }),
    false,
    "the echo is no second copy",
  );
  assert.deepEqual(texts(history.get("user:Ron")?.entries), ["one", "theirs", "mine"]);
  assert.equal(history.get("user:Ron")?.entries[2].seq, 3);
});

Deno.test("history: a renumbered mailbox keeps what was shown, without seqs, before the new entries", () => {
  const storage = new MemoryStorage();
  const history = new History("Harry", storage as unknown as Storage);
  for (let seq = 1; seq <= 3; seq++) history.insert("user", "Ron", message(`old${seq}`, seq, seq));
  history.cursor = 3;
  assert.deepEqual([...history.idsBySeq()], [[1, "id-old1"], [2, "id-old2"], [3, "id-old3"]]);
  history.forgetSeqs();
  assert.equal(history.cursor, 0);
  assert.deepEqual([...history.idsBySeq()], []);
  // The new numbering starts at 1 again; the new entries come after the old ones.
  history.insert("user", "Ron", message("new1", 100, 1));
  history.insert("user", "Ron", message("new2", 101, 2));
  assert.deepEqual(texts(history.get("user:Ron")?.entries), [
    "old1",
    "old2",
    "old3",
    "new1",
    "new2",
  ]);
  history.flush();
  const again = new History("Harry", storage as unknown as Storage).get("user:Ron")!;
  assert.deepEqual(texts(again.entries), ["old1", "old2", "old3", "new1", "new2"]);
});

Deno.test("history: entries that no longer join up with the server's newest page are dropped", () => {
  const history = new History("Harry", new MemoryStorage() as unknown as Storage);
  for (let seq = 1; seq <= 3; seq++) history.insert("user", "Ron", message(`m${seq}`, seq, seq));
  history.setMore("user:Ron", false);
  history.insert("user", "Ron", { kind: "notice", text: "local", at: 4 });
  history.dropBefore("user:Ron", 3);
  assert.deepEqual(texts(history.get("user:Ron")?.entries), ["m3", "local"]);
  assert.equal(history.get("user:Ron")?.more, true);
  assert.equal(history.insert("user", "Ron", message("m1", 1, 1)), true, "it can come back");
});

Deno.test("history: a cache written before ids and seqs still loads", () => {
  const storage = new MemoryStorage();
  storage.setItem(
    "huayi-im:history:Harry",
    JSON.stringify({
      conversations: [{
        type: "user",
        name: "Ron",
        entries: [{ kind: "message", from: "Ron", to: ["Harry"], topic: "", content: "v1", at: 5 }],
        unread: 1,
      }],
      joined: [],
    }),
  );
  const history = new History("Harry", storage as unknown as Storage);
  assert.deepEqual(texts(history.get("user:Ron")?.entries), ["v1"]);
  assert.equal(history.cursor, 0);
  history.insert("user", "Ron", message("v2", 6, 1));
  assert.deepEqual(texts(history.get("user:Ron")?.entries), ["v1", "v2"]);
});
