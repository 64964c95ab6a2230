import assert from "node:assert/strict";
import { api, eventually, login, sendDirect, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

Deno.test("no leaks: after many connect/login/logout cycles the counts return to where they started", async () => {
  // Short TTLs, so delivered messages leave history too and the store drains.
  await using server = await TestServer.start({ "offline-ttl-ms": 1500, "history-ttl-ms": 1500 });
  const observer = await login(server, "Observer");
  const stats = async () => (await api(server, "GET", "/api/stats", { sid: observer })).body;
  const before = await stats();
  assert.deepEqual(
    { ...before, users: 0 },
    {
      users: 0,
      sessions: 1,
      online: 0,
      topics: 0,
      mailboxes: 0,
      messages: 0,
      entries: 0,
      storeBytes: 0,
      outboxFrames: 0,
      timers: 1,
    },
  );
  const names = Array.from({ length: 10 }, (_, i) => `cycler_${i}`);
  const codes: number[] = [];
  for (let round = 0; round < 10; round++) {
    await Promise.all(names.map(async (name, i) => {
      const sid = await login(server, name);
      const socket = await TestSocket.open(server, sid);
      // Some replace their socket, some are replaced by a new login, some log out.
      if (i % 3 === 0) (await TestSocket.open(server, sid)).close();
      await sendDirect(server, sid, name, [names[(i + 1) % names.length]], "hop");
      if (i % 3 === 1) {
        await login(server, name);
      } else {
        await api(server, "POST", "/api/logout", { sid });
      }
      codes.push((await socket.closed).code);
    }));
  }
  // The messages and notices to these users wait for them (stored, not leaked): collect them,
  // then history's TTL frees them.
  const sids = await Promise.all(names.map((name) => login(server, name)));
  const sockets = await Promise.all(sids.map((sid) => TestSocket.open(server, sid)));
  await api(server, "POST", "/api/topics", { sid: sids[0], body: { topic: "temporary" } });
  await sendTopic(server, sids[0], names[0], "temporary", "bye", names);
  await api(server, "DELETE", "/api/topics/temporary", { sid: observer });
  await eventually(
    async () => {
      const now = await stats();
      return now.messages === 0 && now.outboxFrames === 0;
    },
    5000,
    "stored messages delivered and expired",
  );
  await Promise.all(sids.map((sid) => api(server, "POST", "/api/logout", { sid })));
  await Promise.all(sockets.map((socket) => socket.closed));
  const after = await eventually(
    async () => {
      const now = await stats();
      return now.online === 0 ? now : undefined;
    },
    3000,
    "everyone offline",
  );
  assert.deepEqual({ ...after, users: 0, mailboxes: 0 }, { ...before, users: 0 });
  assert.equal(after.mailboxes, names.length, "a mailbox keeps its seq counter for good");
  assert.equal(after.users, 1 + names.length, "users are remembered, by contract");
  // Each round, 4 sockets are replaced by a second socket and 3 by a new login (4001), 3 log out (4000).
  const count = (code: number) => codes.filter((c) => c === code).length;
  assert.deepEqual([count(4001), count(4000), codes.length], [70, 30, 100]);
});
