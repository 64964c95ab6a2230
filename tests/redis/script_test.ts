import assert from "node:assert/strict";
import { RedisClient } from "../../lib/redis/client.ts";
import { RedisError } from "../../lib/redis/errors.ts";
import { RedisScript } from "../../lib/redis/script.ts";
import { RedisServer } from "./redis_server.ts";

const APPEND = new RedisScript(`
  local seq = redis.call('INCR', KEYS[1])
  redis.call('RPUSH', KEYS[2], ARGV[1] .. ':' .. seq)
  return seq
`);

Deno.test("script: its SHA1 is the one Redis computes", async () => {
  await using server = await RedisServer.start();
  assert.equal(await server.command(["SCRIPT", "LOAD", APPEND.source]), await APPEND.sha1());
  assert.match(await new RedisScript("return 'é'").sha1(), /^[0-9a-f]{40}$/);
});

Deno.test("script: runs by EVALSHA; after SCRIPT FLUSH it falls back to EVAL once", async () => {
  await using server = await RedisServer.start();
  const commands: string[] = [];
  await using client = await RedisClient.connect(server.url, {
    observer: { onCommand: (name) => commands.push(name) },
  });
  assert.equal(await APPEND.run(client, ["seq", "log"], ["a"]), 1);
  assert.equal(await APPEND.run(client, ["seq", "log"], ["b"]), 2);
  assert.deepEqual(commands, ["EVALSHA", "EVAL", "EVALSHA"]);
  assert.equal(await client.command(["SCRIPT", "FLUSH"]), "OK");
  commands.length = 0;
  assert.equal(await APPEND.run(client, ["seq", "log"], ["c"]), 3);
  assert.equal(await APPEND.run(client, ["seq", "log"], ["d"]), 4);
  assert.deepEqual(commands, ["EVALSHA", "EVAL", "EVALSHA"]);
  assert.deepEqual(await client.command(["LRANGE", "log", 0, -1]), ["a:1", "b:2", "c:3", "d:4"]);
});

Deno.test("script: errors raised by the script reject with RedisError, once", async () => {
  await using server = await RedisServer.start();
  const commands: string[] = [];
  await using client = await RedisClient.connect(server.url, {
    observer: { onCommand: (name) => commands.push(name) },
  });
  const failing = new RedisScript("return redis.error_reply('SEQGAP expected ' .. ARGV[1])");
  await assert.rejects(failing.run(client, [], [7]), (error) => {
    assert.ok(error instanceof RedisError);
    assert.equal(error.code, "SEQGAP");
    assert.equal(error.message, "SEQGAP expected 7");
    return true;
  });
  assert.deepEqual(commands, ["EVALSHA", "EVAL"]);
  assert.equal(await new RedisScript("return ARGV[1] + ARGV[2]").run(client, [], [2, 3]), 5);
});
