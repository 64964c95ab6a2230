import assert from "node:assert/strict";
import { RedisServer } from "../redis/redis_server.ts";
import { picker, random } from "../store/agree.ts";
import { api, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

// One seeded client script (logins, sends one-to-one and to topics, topic
// changes, history pages, lists) against three real processes, one per
// store: every answer must be the same, ids, times and sids aside.

const USERS = ["Harry", "Ron_W", "Hermione", "Neville"];
const TOPICS = ["stone", "chamber"];

// Ids and times differ by process; everything else must not.
function normalized(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value),
    (key, value) => key === "id" || key === "sent-at" || key === "sid" ? typeof value : value,
  );
}

Deno.test("engines agree over the wire: memory, SQLite and Redis answer one client script alike", async () => {
  await using redis = await RedisServer.start();
  await using memory = await TestServer.start({ store: "memory" });
  await using sqlite = await TestServer.start({ store: "sqlite" });
  await using cluster = await TestServer.start({ "redis-url": redis.url, "node-id": "solo" });
  const servers = [memory, sqlite, cluster];
  const sids = servers.map(() => new Map<string, string>());
  const next = random(7);
  const pick = picker(next);
  // The same request to every server, as `user` when given; the answers compared.
  const all = async (
    what: string,
    method: string,
    path: string,
    user?: string,
    body?: unknown,
  ) => {
    const results = await Promise.all(
      servers.map((server, i) =>
        api(server, method, path, { sid: user && sids[i].get(user), body })
      ),
    );
    const [first, ...others] = results.map(({ status, body }) => normalized({ status, body }));
    for (const [i, other] of others.entries()) {
      assert.deepEqual(other, first, `${what}: ${["sqlite", "redis"][i]} vs memory`);
    }
    return results;
  };
  const login = async (user: string) => {
    const results = await all(`login ${user}`, "POST", "/api/login", undefined, { username: user });
    results.forEach((result, i) => sids[i].set(user, result.body.sid));
  };
  for (const user of USERS) await login(user);
  for (let step = 0; step < 150; step++) {
    const roll = next();
    const user = pick(USERS);
    const topic = pick(TOPICS);
    if (roll < 0.4) {
      const to = USERS.filter(() => next() < 0.4);
      const onTopic = next() < 0.4;
      await all(`send ${step}`, "POST", "/api/messages", user, {
        "message-type": "message",
        from: user,
        to: onTopic ? to.slice(0, 1) : to,
        ...(onTopic ? { topic } : {}),
        "content-type": "text/plain",
        content: `${step} from ${user}`,
      });
    } else if (roll < 0.65) {
      const params = new URLSearchParams();
      if (next() < 0.5) {
        params.set(next() < 0.5 ? "before" : "after", String(Math.floor(next() * 15)));
      }
      if (next() < 0.5) params.set("limit", String(1 + Math.floor(next() * 5)));
      const filter = next();
      if (filter < 0.3) params.set("with", pick(USERS));
      else if (filter < 0.5) params.set("topic", topic);
      await all(`history ${step} ${user} ${params}`, "GET", `/api/messages?${params}`, user);
    } else if (roll < 0.72) {
      await all(`create ${step}`, "POST", "/api/topics", user, { topic });
    } else if (roll < 0.8) {
      await all(`join ${step}`, "POST", `/api/topics/${topic}/actions/join`, user);
    } else if (roll < 0.85) {
      await all(`quit ${step}`, "POST", `/api/topics/${topic}/actions/quit`, user);
    } else if (roll < 0.88) {
      await all(`delete ${step}`, "DELETE", `/api/topics/${topic}`, user);
    } else if (roll < 0.94) {
      await all(`users ${step}`, "GET", "/api/users", user);
      await all(`topics ${step}`, "GET", "/api/topics", user);
    } else {
      await all(`logout ${step}`, "POST", "/api/logout", user);
      await login(user);
    }
  }
  // Everyone's whole mailbox, oldest first, once more at the end: through
  // history, and replayed to a socket that resumes from 0.
  for (const user of USERS) {
    const [history] = await all(
      `history of ${user}`,
      "GET",
      "/api/messages?after=0&limit=200",
      user,
    );
    assert.equal(history.body["has-more"], false, "one page holds the whole mailbox");
    const replays = await Promise.all(servers.map(async (server, i) => {
      await using socket = await TestSocket.open(server, sids[i].get(user)!, { since: 0 });
      return await socket.take(1 + history.body.list.length);
    }));
    const [first, ...others] = replays.map(normalized);
    for (const [i, other] of others.entries()) {
      assert.deepEqual(other, first, `replay to ${user}: ${["sqlite", "redis"][i]} vs memory`);
    }
  }
});
