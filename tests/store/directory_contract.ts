/**
 * The contract every {@linkcode Directory} engine keeps: one suite, run by
 * each engine's own test file with a factory for that engine. Durable engines
 * also pass `reopen`, and the suite checks what survives closing and opening
 * again.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Directory, DirectoryOptions, Session } from "../../lib/store/directory.ts";

/** How a test file hands its engine to the suite. */
export interface DirectoryEngine {
  /** A fresh, empty directory with these options. */
  open(options: DirectoryOptions): Promise<Directory>;
  /** Closes `directory` and opens its storage again (durable engines only). */
  reopen?(directory: Directory, options: DirectoryOptions): Promise<Directory>;
}

const TTL = 60_000;

/** Registers the contract's tests for one engine. */
export function testDirectory(name: string, engine: DirectoryEngine): void {
  const test = (title: string, fn: () => Promise<void>) =>
    Deno.test(`directory (${name}): ${title}`, fn);

  async function setup(overrides: Partial<DirectoryOptions> = {}) {
    const time = { now: 1_000_000 };
    const options: DirectoryOptions = {
      sessionTtlMs: TTL,
      maxUsers: 100,
      maxTopics: 100,
      maxSessions: 100,
      now: () => time.now,
      ...overrides,
    };
    return { directory: await engine.open(options), time, options };
  }

  async function login(directory: Directory, username: string): Promise<Session> {
    const result = await directory.openSession(username);
    assert.equal(result.kind, "opened", `login ${username}: ${result.kind}`);
    return result.kind === "opened" ? result.session : undefined!;
  }

  test("a login opens a session found by its sid; a second one replaces it", async () => {
    const { directory, time } = await setup();
    try {
      const first = await login(directory, "Harry");
      assert.equal(first.username, "Harry");
      assert.equal(first.lastSeen, time.now);
      assert.equal((await directory.session(first.sid))?.username, "Harry");
      const again = await directory.openSession("Harry");
      assert.equal(again.kind, "opened");
      if (again.kind !== "opened") return;
      assert.equal(again.replaced?.sid, first.sid);
      assert.notEqual(again.session.sid, first.sid);
      assert.equal(await directory.session(first.sid), undefined, "the old sid is dead");
      assert.equal((await directory.session(again.session.sid))?.username, "Harry");
      assert.equal(await directory.session("no-such-sid"), undefined);
      assert.deepEqual(directory.stats(), { users: 1, sessions: 1, topics: 0 });
    } finally {
      await directory.close();
    }
  });

  test("a session ended by a later login reads as replaced; one logged out does not", async () => {
    const { directory } = await setup();
    try {
      const first = await login(directory, "Harry");
      assert.equal(await directory.replaced(first), false, "a live session");
      const second = await login(directory, "Harry");
      assert.equal(await directory.replaced(first), true);
      assert.equal(await directory.replaced(second), false);
      assert.equal(await directory.closeSession(second), true);
      assert.equal(await directory.replaced(second), false, "logged out, nothing newer");
      assert.equal(await directory.replaced(first), false, "its replacement is gone too");
    } finally {
      await directory.close();
    }
  });

  test("closeSession ends it once; the user stays", async () => {
    const { directory } = await setup();
    try {
      const session = await login(directory, "Harry");
      assert.equal(await directory.closeSession(session), true);
      assert.equal(await directory.closeSession(session), false);
      assert.equal(await directory.session(session.sid), undefined);
      assert.equal(await directory.hasUser("Harry"), true);
      assert.equal(await directory.hasUser("Ron_W"), false);
      assert.deepEqual(directory.stats(), { users: 1, sessions: 0, topics: 0 });
    } finally {
      await directory.close();
    }
  });

  test("idle sessions expire after sessionTtlMs; a touch keeps one alive", async () => {
    const { directory, time } = await setup();
    try {
      const idle = await login(directory, "Harry");
      const busy = await login(directory, "Ron_W");
      time.now += TTL / 2;
      directory.touch(busy);
      assert.equal(busy.lastSeen, time.now);
      time.now += TTL / 2;
      assert.equal(await directory.session(idle.sid), undefined, "expired on lookup");
      const expired = await directory.sweep();
      assert.deepEqual(expired.map((s) => s.username).filter((u) => u !== "Harry"), []);
      assert.equal((await directory.session(busy.sid))?.username, "Ron_W");
      time.now += TTL;
      const later = await directory.sweep();
      assert.deepEqual(later.map((s) => s.username), ["Ron_W"]);
      assert.equal(directory.stats().sessions, 0);
    } finally {
      await directory.close();
    }
  });

  test("users are listed by name, paged with after and limit", async () => {
    const { directory } = await setup();
    try {
      for (const user of ["Ron_W", "Harry", "Hermione", "Draco", "Neville"]) {
        await login(directory, user);
      }
      assert.deepEqual(await directory.users({}), {
        names: ["Draco", "Harry", "Hermione", "Neville", "Ron_W"],
        total: 5,
      });
      assert.deepEqual(await directory.users({ limit: 2 }), {
        names: ["Draco", "Harry"],
        total: 5,
      });
      assert.deepEqual(await directory.users({ after: "Harry", limit: 2 }), {
        names: ["Hermione", "Neville"],
        total: 5,
      });
      assert.deepEqual(await directory.users({ after: "Hz" }), {
        names: ["Neville", "Ron_W"],
        total: 5,
      });
      assert.deepEqual(await directory.users({ after: "Ron_W" }), { names: [], total: 5 });
    } finally {
      await directory.close();
    }
  });

  test("maxUsers refuses new users, not returning ones; maxSessions expires idle ones first", async () => {
    const { directory, time } = await setup({ maxUsers: 2, maxSessions: 2 });
    try {
      const harry = await login(directory, "Harry");
      await login(directory, "Ron_W");
      assert.deepEqual(await directory.openSession("Hermione"), { kind: "users_full" });
      assert.equal(await directory.hasUser("Hermione"), false);
      await login(directory, "Harry"); // a returning user replaces their session
      assert.equal(await directory.session(harry.sid), undefined);
      assert.equal(await directory.register("Neville", "hash"), "users_full");

      const { directory: small, time: clock } = await setup({ maxSessions: 2 });
      try {
        await login(small, "Harry");
        await login(small, "Ron_W");
        assert.deepEqual(await small.openSession("Hermione"), { kind: "sessions_full" });
        clock.now += TTL;
        await login(small, "Hermione");
        assert.equal(small.stats().sessions, 1, "the idle ones expired to make room");
      } finally {
        await small.close();
      }
      time.now += 1;
    } finally {
      await directory.close();
    }
  });

  test("register keeps a password hash; a taken name is exists", async () => {
    const { directory } = await setup();
    try {
      assert.equal(await directory.register("Harry", "scrypt$abc"), "registered");
      assert.equal(await directory.register("Harry", "scrypt$other"), "exists");
      assert.equal(await directory.passwordHash("Harry"), "scrypt$abc");
      assert.equal(await directory.passwordHash("Ron_W"), undefined);
      await login(directory, "Ron_W");
      assert.equal(await directory.register("Ron_W", "x"), "exists");
      assert.equal(await directory.hasUser("Harry"), true);
    } finally {
      await directory.close();
    }
  });

  test("topics: create, exists, members, join, quit, delete, re-create", async () => {
    const { directory } = await setup();
    try {
      assert.equal(await directory.createTopic("quidditch", "Harry"), "created");
      assert.equal(await directory.createTopic("quidditch", "Ron_W"), "exists");
      assert.deepEqual(await directory.members("quidditch"), ["Harry"]);
      assert.equal(await directory.join("quidditch", ["Ron_W", "Hermione", "Ron_W"]), true);
      assert.equal(await directory.join("quidditch", ["Harry"]), true, "joining twice is fine");
      assert.deepEqual([...(await directory.members("quidditch"))!].sort(), [
        "Harry",
        "Hermione",
        "Ron_W",
      ]);
      assert.equal(await directory.quit("quidditch", "Hermione"), true);
      assert.equal(await directory.quit("quidditch", "Neville"), true, "never joined is fine");
      assert.equal(await directory.join("nowhere", ["Harry"]), false);
      assert.equal(await directory.quit("nowhere", "Harry"), false);
      assert.equal(await directory.members("nowhere"), undefined);
      const members = await directory.deleteTopic("quidditch");
      assert.deepEqual([...members!].sort(), ["Harry", "Ron_W"]);
      assert.equal(await directory.deleteTopic("quidditch"), undefined);
      assert.equal(await directory.createTopic("quidditch", "Draco"), "created");
      assert.deepEqual(await directory.members("quidditch"), ["Draco"], "old members are gone");
    } finally {
      await directory.close();
    }
  });

  test("topics are listed by name and paged; maxTopics refuses more", async () => {
    const { directory } = await setup({ maxTopics: 3 });
    try {
      for (const topic of ["potions", "charms", "herbology"]) {
        assert.equal(await directory.createTopic(topic, "Harry"), "created");
      }
      assert.equal(await directory.createTopic("flying", "Harry"), "topics_full");
      assert.deepEqual(await directory.topics({}), {
        names: ["charms", "herbology", "potions"],
        total: 3,
      });
      assert.deepEqual(await directory.topics({ after: "charms", limit: 1 }), {
        names: ["herbology"],
        total: 3,
      });
      await directory.deleteTopic("herbology");
      assert.equal(await directory.createTopic("flying", "Harry"), "created");
      assert.deepEqual((await directory.topics({})).names, ["charms", "flying", "potions"]);
    } finally {
      await directory.close();
    }
  });

  if (engine.reopen) {
    const reopen = engine.reopen.bind(engine);
    test("everything survives reopening: users, sessions, passwords, topics, members", async () => {
      const setupResult = await setup();
      let directory = setupResult.directory;
      const { options } = setupResult;
      try {
        const harry = await login(directory, "Harry");
        const ron = await login(directory, "Ron_W");
        await directory.closeSession(ron);
        await directory.register("Hermione", "scrypt$h");
        await directory.createTopic("quidditch", "Harry");
        await directory.join("quidditch", ["Neville"]);
        await directory.createTopic("gone", "Harry");
        await directory.deleteTopic("gone");
        directory = await reopen(directory, options);
        assert.equal(
          (await directory.session(harry.sid))?.username,
          "Harry",
          "the sid still works",
        );
        assert.equal(await directory.session(ron.sid), undefined, "a closed session stays closed");
        assert.deepEqual((await directory.users({})).names, ["Harry", "Hermione", "Ron_W"]);
        assert.equal(await directory.passwordHash("Hermione"), "scrypt$h");
        assert.deepEqual((await directory.topics({})).names, ["quidditch"]);
        assert.deepEqual([...(await directory.members("quidditch"))!].sort(), ["Harry", "Neville"]);
        const again = await directory.openSession("Harry");
        assert.equal(again.kind === "opened" && again.replaced?.sid, harry.sid);
      } finally {
        await directory.close();
      }
    });
  }
}
