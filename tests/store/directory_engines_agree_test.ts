/**
 * The memory, SQLite and Redis directories, driven through the same seeded
 * random logins, logouts, registrations, topic changes, clock moves and
 * sweeps, must answer alike (sids aside: each engine draws its own, so each
 * logical session is followed per engine). Two Redis nodes sharing one
 * server must answer as one directory too.
 */

import type { Directory, DirectoryOptions, Session } from "../../lib/store/directory.ts";
import { MemoryDirectory } from "../../lib/store/directory_memory.ts";
import { RedisDirectory } from "../../lib/store/directory_redis.ts";
import { SqliteDirectory } from "../../lib/store/directory_sqlite.ts";
import { SqliteDatabase } from "../../lib/store/sqlite_database.ts";
import { directoryEngine as redisEngine, FAST } from "./redis_engines.ts";
import { agreeing, picker, random, twoNodes } from "./agree.ts";

const USERS = ["Harry", "Ron_W", "Hermione", "Neville", "Luna", "Draco"];
const TOPICS = ["stone", "chamber", "goblet"];

const LIMITS: Omit<DirectoryOptions, "now">[] = [
  { sessionTtlMs: 20_000, maxUsers: 100, maxTopics: 100, maxSessions: 100 },
  { sessionTtlMs: 20_000, maxUsers: 4, maxTopics: 2, maxSessions: 3 },
];

const sorted = (names: readonly string[] | undefined) => names && [...names].sort();

// Two Redis nodes on one server acting as one directory: every call on
// either node at random. Counts are a node's as of its last script, so
// they are read on the node that ran the last change.
async function asOneDirectory(options: DirectoryOptions, seed: number): Promise<Directory> {
  const nodes = await twoNodes(
    (url, nodeId) =>
      RedisDirectory.connect(url, { ...options, nodeId, persistEveryMs: 0, link: FAST }),
    seed,
  );
  const { any, writer } = nodes;
  return {
    openSession: (username) => writer().openSession(username),
    session: (sid) => any().session(sid),
    replaced: (session) => any().replaced(session),
    touch: (session) => any().touch(session),
    closeSession: (session) => writer().closeSession(session),
    register: (username, hash) => writer().register(username, hash),
    passwordHash: (username) => any().passwordHash(username),
    hasUser: (username) => any().hasUser(username),
    users: (query) => any().users(query),
    createTopic: (topic, creator) => writer().createTopic(topic, creator),
    deleteTopic: (topic) => writer().deleteTopic(topic),
    join: (topic, users) => writer().join(topic, users),
    quit: (topic, user) => writer().quit(topic, user),
    members: (topic) => any().members(topic),
    topics: (query) => any().topics(query),
    sweep: () => writer().sweep(),
    stats: () => nodes.wrote.stats(),
    close: () => nodes.close(),
  };
}

for (const [set, limits] of LIMITS.entries()) {
  for (const seed of [1, 2, 3]) {
    Deno.test(`directory engines agree: memory, SQLite and Redis give the same answers (limits ${set}, seed ${seed})`, async () => {
      const next = random(seed);
      const pick = picker(next);
      let now = 1_000_000;
      const options: DirectoryOptions = { ...limits, now: () => now };
      const dir = await Deno.makeTempDir({ prefix: "huayi_agree_" });
      const engines: Directory[] = [
        new MemoryDirectory(options),
        new SqliteDirectory(await SqliteDatabase.open(dir), options),
        // Every touch written at once: by design Redis may otherwise see a
        // session idle up to min(TTL/16, 60 s) early (directory_redis.ts).
        await redisEngine.open({ ...options, persistEveryMs: 0 } as DirectoryOptions),
        await asOneDirectory(options, seed),
      ];
      // The last session each engine opened for a user.
      const sessions = engines.map(() => new Map<string, Session>());
      const all = agreeing(engines, ["memory", "sqlite", "redis", "two redis nodes"]);
      try {
        for (let step = 0; step < 500; step++) {
          const roll = next();
          const user = pick(USERS);
          const topic = pick(TOPICS);
          if (roll < 0.2) {
            await all(async (d, i) => {
              const before = sessions[i].get(user);
              const result = await d.openSession(user);
              if (result.kind !== "opened") return result.kind;
              sessions[i].set(user, result.session);
              // Whether the session held before reads as replaced, and the new one not.
              const was = before && await d.replaced(before);
              return [
                result.session.username,
                result.replaced?.username,
                was,
                await d.replaced(result.session),
              ];
            }, `login ${step} ${user}`);
          } else if (roll < 0.3) {
            await all(async (d, i) => {
              const session = sessions[i].get(user);
              return session ? (await d.session(session.sid))?.username ?? null : "none";
            }, `session ${step} ${user}`);
          } else if (roll < 0.35) {
            await all(async (d, i) => {
              const session = sessions[i].get(user);
              return session ? await d.closeSession(session) : "none";
            }, `logout ${step} ${user}`);
          } else if (roll < 0.4) {
            for (const [i, d] of engines.entries()) {
              const session = sessions[i].get(user);
              if (session) d.touch(session);
            }
          } else if (roll < 0.47) {
            const hash = `hash${Math.floor(next() * 3)}`;
            await all((d) => d.register(user, hash), `register ${step} ${user}`);
            await all((d) => d.passwordHash(user), `hash ${step} ${user}`);
            await all((d) => d.hasUser(user), `has ${step} ${user}`);
          } else if (roll < 0.55) {
            const query = {
              ...(next() < 0.5 ? { after: pick(USERS) } : {}),
              ...(next() < 0.5 ? { limit: 1 + Math.floor(next() * 3) } : {}),
            };
            await all((d) => d.users(query), `users ${step} ${JSON.stringify(query)}`);
            await all((d) => d.topics(query), `topics ${step} ${JSON.stringify(query)}`);
          } else if (roll < 0.65) {
            await all((d) => d.createTopic(topic, user), `create ${step} ${topic}`);
          } else if (roll < 0.75) {
            const joining = USERS.filter(() => next() < 0.3);
            await all((d) => d.join(topic, joining), `join ${step} ${topic}`);
          } else if (roll < 0.8) {
            await all((d) => d.quit(topic, user), `quit ${step} ${topic} ${user}`);
          } else if (roll < 0.88) {
            await all(async (d) => sorted(await d.members(topic)), `members ${step} ${topic}`);
          } else if (roll < 0.92) {
            await all(async (d) => sorted(await d.deleteTopic(topic)), `delete ${step} ${topic}`);
          } else {
            now += Math.floor(next() * 12_000);
            await all(
              async (d) => (await d.sweep()).map((s) => s.username).sort(),
              `sweep ${step}`,
            );
          }
          await all((d) => d.stats(), `stats after step ${step}`);
        }
      } finally {
        await Promise.all(engines.map((d) => d.close()));
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}
