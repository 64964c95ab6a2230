import type { Presence } from "../../lib/store/presence.ts";
import { LocalPresence } from "../../lib/store/presence_local.ts";
import { RedisPresence } from "../../lib/store/presence_redis.ts";
import { RedisLink } from "../../lib/store/redis_shared.ts";
import { RedisServer } from "../redis/redis_server.ts";
import { agreeing, picker, random } from "./agree.ts";

// One node's presence, kept here or in Redis: the same sockets opening and
// closing (a user's reconnect among them), the same pages listed.

const USERS = ["Harry", "Ron_W", "Hermione", "Neville", "Luna", "Draco", "Ginny"];

for (const seed of [1, 2, 3]) {
  Deno.test(`presence engines agree: local and Redis list the same users (seed ${seed})`, async () => {
    await using server = await RedisServer.start();
    // Opened as a node opens it (RedisPresence.open): the scripts loaded first.
    const link = await RedisLink.connect(server.url, {});
    const next = random(seed);
    const pick = picker(next);
    const engines: Presence[] = [
      new LocalPresence(),
      await RedisPresence.open(link, { nodeId: "a", ttlMs: 60_000 }),
    ];
    const all = agreeing(engines, ["local", "redis"]);
    // What this node holds: presence is told of a user's socket once.
    const held = new Set<string>();
    try {
      for (let step = 0; step < 300; step++) {
        const roll = next();
        const user = pick(USERS);
        if (roll < 0.35 && !held.has(user)) {
          held.add(user);
          for (const p of engines) p.online(user);
        } else if (roll < 0.6 && held.has(user)) {
          held.delete(user);
          for (const p of engines) p.offline(user);
        } else if (roll < 0.7 && held.has(user)) {
          // A reconnect: the old socket's close, then the new one's open.
          for (const p of engines) p.offline(user);
          for (const p of engines) p.online(user);
        } else if (roll < 0.8) {
          const users = [...held];
          for (const p of engines) p.refresh(users);
        } else {
          const query = {
            ...(next() < 0.5 ? { after: pick(USERS) } : {}),
            ...(next() < 0.5 ? { limit: 1 + Math.floor(next() * 4) } : {}),
          };
          await all((p) => p.list(query), `list ${step} ${JSON.stringify(query)}`);
        }
      }
      await all((p) => p.list({}), "list at the end");
    } finally {
      await Promise.all(engines.map((p) => p.close()));
      await link.close();
    }
  });
}
