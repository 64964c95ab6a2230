/**
 * The SQLite store over the wire, with `kill -9` of the real process: what a
 * 200 answered survives, sids keep working, and a data directory is one
 * server's.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  api,
  expectSentinel,
  type Json,
  login,
  sendDirect,
  sendTopic,
  TestSocket,
} from "./client.ts";
import { runMain, TestServer } from "./harness.ts";

async function withDataDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "huayi-durable-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("durability: kill -9 right after the 200s, then a restart: nothing lost, the sids still work", async () => {
  await withDataDir(async (dir) => {
    const flags = { store: "sqlite", "data-dir": dir };
    let server = await TestServer.start(flags);
    const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
    await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quidditch" } });
    await api(server, "POST", "/api/topics/quidditch/actions/join", { sid: ron });
    const sent: Json[] = [];
    // Sends in flight together, then kill -9 the moment the last 200 is in.
    await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const reply = i % 5 === 0
        ? await sendTopic(server, harry, "Harry", "quidditch", `t${i}`)
        : await sendDirect(server, harry, "Harry", ["Ron_W"], `d${i}`);
      assert.equal(reply.status, 200);
      sent.push(reply.body);
    }));
    await server.stop("SIGKILL");
    server = await TestServer.start(flags);
    try {
      // The old sids work: HTTP and the socket, with nothing to log in again.
      assert.equal((await api(server, "GET", "/api/users", { sid: ron })).status, 200);
      await using socket = await TestSocket.open(server, ron, { since: 0 });
      const [notice, ...frames] = await socket.take(51);
      assert.equal(notice.content.recovered, true);
      assert.deepEqual(
        frames.map((f) => f.id).sort(),
        sent.map((body) => body.id).sort(),
        "every accepted message, once",
      );
      assert.deepEqual(frames.map((f) => f.seq), Array.from({ length: 50 }, (_, i) => i + 1));
      // Users, topics and members survived too.
      assert.deepEqual((await api(server, "GET", "/api/topics", { sid: ron })).body.list, [{
        topic: "quidditch",
      }]);
      assert.equal((await sendTopic(server, harry, "Harry", "quidditch", "after")).status, 200);
      const after = await socket.next();
      assert.deepEqual([after.seq, after.content], [51, "after"], "seqs go on, never reused");
    } finally {
      await server.stop();
    }
  });
});

Deno.test("durability: a v1 socket is not sent again what it was written over 200 ms before a kill -9", async () => {
  await withDataDir(async (dir) => {
    const flags = { store: "sqlite", "data-dir": dir };
    let server = await TestServer.start(flags);
    const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
    const first = await TestSocket.open(server, ron);
    for (let i = 0; i < 10; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `early${i}`);
    assert.equal((await first.take(10)).length, 10);
    // Past the cursor's flush bound (CURSOR_FLUSH_MS, 200 ms): the cursor is durable now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Stored while Ron is away: these were never written to any socket.
    first.socket.close();
    await first.closed;
    for (let i = 0; i < 3; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `late${i}`);
    await server.stop("SIGKILL");
    server = await TestServer.start(flags);
    try {
      await using again = await TestSocket.open(server, ron);
      assert.deepEqual((await again.take(3)).map((f) => f.content), ["late0", "late1", "late2"]);
      await expectSentinel(server, again, "Ron_W", "nothing written before the window came again");
    } finally {
      await server.stop();
    }
  });
});

Deno.test("durability: a data directory is one server's; after kill -9 the next start takes it over", async () => {
  await withDataDir(async (dir) => {
    const flags = { store: "sqlite", "data-dir": dir };
    const server = await TestServer.start(flags);
    const second = await runMain(
      ["--host", "127.0.0.1", "--port", "0", "--data-dir", dir],
      {},
      { write: true },
    );
    assert.equal(second.code, 2);
    assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
    assert.ok(second.stderr.includes(dir), "the line names the directory");
    await server.stop("SIGKILL");
    const next = await TestServer.start(flags);
    assert.equal(
      (await api(next, "POST", "/api/login", { body: { username: "Harry" } })).status,
      200,
    );
    await next.stop();
  });
});

Deno.test("durability: a data directory that cannot be one is one line and exit code 2", async () => {
  const file = await Deno.makeTempFile();
  try {
    const result = await runMain(["--port", "0", "--data-dir", file], {}, { write: true });
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.ok(result.stderr.includes(file));
  } finally {
    await Deno.remove(file);
  }
});
