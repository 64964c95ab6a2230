import assert from "node:assert/strict";
import type { Message } from "../../lib/protocol/messages.ts";
import { MessageArena } from "../../lib/store/message_arena.ts";
import { random } from "./agree.ts";

function message(n: number, content = `hello ${n}`): Message {
  return {
    id: `id-${n}`,
    sentAt: 1_000 + n,
    kind: n % 3 === 0 ? "topic" : n % 3 === 1 ? "direct" : "topic_deleted",
    from: n % 3 === 2 ? "" : `user_${n}`,
    to: n % 3 === 2 ? [] : [`a${n}`, `b-${n}`],
    topic: n % 3 === 1 ? "" : `topic_${n % 7}`,
    content,
  };
}

Deno.test("MessageArena gives back every field and holder, past the decoded cache", () => {
  const arena = new MessageArena();
  const refs: number[] = [];
  for (let n = 0; n < 2_000; n++) {
    const ref = arena.add(message(n), 3, n % 2 === 0, 100 + n);
    for (let h = 0; h < 3; h++) arena.setHolder(ref, h, n * 10 + h, n * 1_000_000_007 + h);
    refs.push(ref);
  }
  for (let n = 0; n < 2_000; n++) {
    const ref = refs[n];
    assert.deepEqual(arena.message(ref), message(n));
    assert.equal(arena.kindOf(ref), message(n).kind);
    assert.equal(arena.sentAt(ref), 1_000 + n);
    assert.equal(arena.counted(ref), 100 + n);
    assert.equal(arena.holders(ref), 3);
    for (let h = 0; h < 3; h++) {
      assert.equal(arena.holderBox(ref, h), n * 10 + h);
      assert.equal(arena.holderSeq(ref, h), n * 1_000_000_007 + h);
      assert.equal(arena.isOwn(ref, h), n % 2 === 0 && h === 2);
    }
  }
});

Deno.test("MessageArena keeps any text: NULs, commas, emoji, and bodies larger than a chunk", () => {
  const arena = new MessageArena();
  const odd = 'a\0b,c\u{1F600}é\n"quoted"\0';
  const big = "汉".repeat(600_000); // 1.8 MB of UTF-8, more than a chunk
  const a = arena.add(message(1, odd), 1, false, 0);
  const b = arena.add(message(4, big), 1, false, 0);
  const c = arena.add(message(7, ""), 1, false, 0);
  // Decoded afresh, not from the cache of recent messages.
  for (let n = 0; n < 300; n++) arena.add(message(10 + n), 1, false, 0);
  assert.equal(arena.message(a).content, odd);
  assert.equal(arena.message(b).content, big);
  assert.equal(arena.message(c).content, "");
  assert.deepEqual(arena.message(c).to, ["a7", "b-7"]);
});

Deno.test("MessageArena reads back ASCII and text that leaves ASCII anywhere", () => {
  const arena = new MessageArena();
  const contents = ["plain", "\x7f", "\x80", `${"x".repeat(100)}é`, "ü at the start", "\0"];
  const refs = contents.map((content, n) =>
    arena.add({ ...message(n + 1), to: [`only_${n}`], content }, 1, false, 0)
  );
  const nonAsciiName = arena.add({ ...message(5), from: "ünï" }, 1, false, 0);
  for (let n = 0; n < 300; n++) arena.add(message(10 + n), 1, false, 0);
  contents.forEach((content, n) => {
    assert.equal(arena.message(refs[n]).content, content);
    assert.deepEqual(arena.message(refs[n]).to, [`only_${n}`]);
  });
  assert.equal(arena.message(nonAsciiName).from, "ünï");
  assert.equal(arena.message(nonAsciiName).content, "hello 5");
});

Deno.test("MessageArena frees chunks as the front passes them", () => {
  const arena = new MessageArena();
  const content = "x".repeat(10_000);
  for (let n = 0; n < 1_000; n++) arena.add(message(n, content), 1, false, 0);
  const full = arena.allocatedBytes;
  assert.ok(full >= 10_000_000, `${full}`);
  const first = arena.first;
  while (arena.length > 1) arena.shift();
  assert.equal(arena.first, first + 999);
  assert.equal(arena.isGone(first), true);
  assert.ok(arena.allocatedBytes <= 2 << 20, `${arena.allocatedBytes}`);
});

Deno.test("MessageArena compacts holes left in the middle, and refs still read the same", () => {
  const arena = new MessageArena();
  const content = "y".repeat(20_000);
  // One message kept in every 50: forgetting the rest would pin every chunk.
  const kept: number[] = [];
  for (let round = 0; round < 100; round++) {
    for (let n = 0; n < 50; n++) {
      const ref = arena.add(message(n, content), 1, false, 0);
      arena.setHolder(ref, 0, round, n);
      if (n === 0) kept.push(ref);
      else arena.forget(ref);
    }
  }
  // 100 MB written, 2 MB of it live: compaction (from 8 MiB allocated on)
  // keeps the chunks near what is live, not one pinned chunk per kept message.
  assert.ok(arena.allocatedBytes <= 10 << 20, `${arena.allocatedBytes}`);
  for (const [round, ref] of kept.entries()) {
    assert.equal(arena.isGone(ref), false);
    assert.equal(arena.holderBox(ref, 0), round);
    assert.equal(arena.holderSeq(ref, 0), 0);
  }
  for (let n = 0; n < 300; n++) arena.add(message(n), 1, false, 0);
  assert.equal(arena.message(kept[7]).content, content);
});

Deno.test("MessageArena compacts in steps: no add copies the whole store", () => {
  const arena = new MessageArena();
  const content = "w".repeat(10_000);
  // 40 MB in dense chunks, then two of every three forgotten: ~13 MB live,
  // spread over every chunk, all of it to be copied.
  const refs: number[] = [];
  for (let n = 0; n < 4_000; n++) refs.push(arena.add(message(n, content), 0, false, 0));
  assert.equal(arena.compacting, false);
  const kept = refs.filter((_, n) => n % 3 === 0);
  for (const [n, ref] of refs.entries()) if (n % 3 !== 0) arena.forget(ref);
  const before = arena.allocatedBytes;
  arena.add(message(4_000), 0, false, 0);
  assert.equal(arena.compacting, true);
  // One add moved about a chunk's worth: most of the store is still where it was.
  assert.ok(arena.allocatedBytes > before - (4 << 20), `${before} → ${arena.allocatedBytes}`);
  let adds = 1;
  while (arena.compacting && adds < 1_000) {
    arena.add(message(4_000 + adds), 0, false, 0);
    adds++;
  }
  assert.equal(arena.compacting, false);
  assert.ok(adds >= 10 && adds <= 40, `the compaction took ${adds} adds`);
  assert.ok(arena.allocatedBytes <= 16 << 20, `${arena.allocatedBytes} held for ~13 MB live`);
  for (const ref of kept) assert.equal(arena.message(ref).content, content);
});

Deno.test("MessageArena agrees with a plain map through random adds, forgets, shifts and compactions", () => {
  const next = random(5);
  // Small steps, so compactions span many adds with forgets and shifts between.
  const arena = new MessageArena({ compactStepBytes: 16 << 10 });
  let compactingAfterAdds = 0;
  const model = new Map<number, { message: Message; holders: [number, number][] }>();
  const make = message;
  let front = arena.first;
  let written = 0;
  for (let step = 0; step < 20_000; step++) {
    const roll = next();
    if (roll < 0.4) {
      // Some large bodies, so chunks fill and compactions happen.
      const content = next() < 0.1 ? "z".repeat(60_000 + step) : `c${step} ${"ü".repeat(step % 5)}`;
      const sent = make(step, content);
      const holders = Array.from(
        { length: Math.floor(next() * 4) },
        (_, h): [number, number] => [step % 97 + h, step * 3 + h],
      );
      const ref = arena.add(sent, holders.length, false, 100);
      written += content.length;
      holders.forEach(([box, seq], h) => arena.setHolder(ref, h, box, seq));
      model.set(ref, { message: sent, holders });
      if (arena.compacting) compactingAfterAdds++;
    } else if (roll < 0.85 && model.size > 0) {
      // Forget one in the middle (a deleted topic's message).
      const refs = [...model.keys()];
      const ref = refs[Math.floor(next() * refs.length)];
      arena.forget(ref);
      model.delete(ref);
    } else if (arena.length > 0) {
      arena.shift();
      model.delete(front);
      front++;
    }
    if (step % 500 === 0 || model.size < 3) {
      for (const [ref, { message, holders }] of model) {
        assert.equal(arena.isGone(ref), false);
        assert.deepEqual(arena.message(ref), message);
        assert.deepEqual(
          holders.map((_, h) => [arena.holderBox(ref, h), arena.holderSeq(ref, h)]),
          holders,
        );
      }
    }
  }
  assert.ok(
    compactingAfterAdds > 20,
    `a compaction was under way after ${compactingAfterAdds} adds`,
  );
  // Memory follows what is live, whatever the holes.
  let live = 0;
  for (const { message, holders } of model.values()) {
    live += message.content.length * 2 + holders.length * 12 + 64;
  }
  assert.ok(written > 5 * arena.allocatedBytes, `${written} written, ${arena.allocatedBytes} held`);
  assert.ok(
    arena.allocatedBytes <= Math.max(10 << 20, 3 * live),
    `${arena.allocatedBytes} for ${live}`,
  );
});
