import assert from "node:assert/strict";
import { RedisServer } from "../redis/redis_server.ts";
import { api, expectSentinel, login, sendDirect, TestSocket } from "./client.ts";
import { runMain, TestServer } from "./harness.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal}: sockets close with 1001, new connections are refused, exit 0`, async () => {
    const server = await TestServer.start();
    const ron = await login(server, "Ron_W");
    const socket = await TestSocket.open(server, ron);
    const started = Date.now();
    const status = await server.stop(signal);
    const closed = await socket.closed;
    assert.equal(closed.code, 1001);
    assert.equal(status.code, 0);
    assert.ok(Date.now() - started < 5000, "exits within a few seconds");
    await assert.rejects(fetch(`${server.url}/healthz`));
  });
}

Deno.test("start-up: IM_PORT=0 picks a free port and the printed line says which", async () => {
  await using server = await TestServer.start({}, { IM_PORT: "0" });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(server.url.endsWith(":0"), true);
  assert.equal((await api(server, "GET", "/healthz")).status, 200);
  assert.ok(server.log.some((line) => line.includes(" listen ")));
});

Deno.test("start-up: a flag wins over its environment variable", async () => {
  await using server = await TestServer.start({ "offline-ttl-ms": 200 }, {
    IM_OFFLINE_TTL_MS: "600000",
  });
  const harry = await login(server, "Harry");
  await sendDirect(server, harry, "Harry", ["Ron_W"], "short-lived");
  await new Promise((resolve) => setTimeout(resolve, 400));
  // Expired after the flag's 200 ms, not the variable's 10 minutes: never delivered.
  await using socket = await TestSocket.open(server, await login(server, "Ron_W"));
  await expectSentinel(server, socket, "Ron_W", "the expired message was not delivered");
});

Deno.test("start-up: bad settings stop with exit code 2 and a message naming the setting", async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--port", "abc"], {}, /--port/],
    [["--port", "70000"], {}, /--port/],
    [["--client-timeout-ms", "-5"], {}, /--client-timeout-ms/],
    [["--outbox-capacity=1.5"], {}, /--outbox-capacity/],
    [["--probe-max-misses", "0"], {}, /--probe-max-misses/],
    [["--unknown-flag", "1"], {}, /--unknown-flag/],
    [["--port"], {}, /--port/],
    [[], { IM_SLOW_CONSUMER_MS: "soon" }, /IM_SLOW_CONSUMER_MS/],
    [[], { IM_PORT: "" }, /IM_PORT/],
  ];
  for (const [args, env, names] of cases) {
    const { code, stderr } = await runMain(args, env);
    assert.equal(code, 2, `${args.join(" ")} ${JSON.stringify(env)}`);
    assert.match(stderr, names);
  }
});

Deno.test("start-up: a Redis Unix socket the process may not open is one line naming the grant, exit 2", async () => {
  await using redis = await RedisServer.start({ unixSocket: true });
  // runMain grants no write access, and a Unix socket needs it.
  const { code, stderr } = await runMain(["--port", "0", "--redis-url", redis.unixUrl]);
  assert.equal(code, 2, stderr);
  const socket = redis.unixUrl.slice("unix://".length);
  assert.match(stderr, new RegExp(`cannot connect to ${socket}: Requires write access`));
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
});

Deno.test("start-up: --help lists every setting and exits 0", async () => {
  const { code, stdout } = await runMain(["--help"]);
  assert.equal(code, 0);
  for (const name of ["IM_HOST", "--port", "IM_MAX_FRAME_BYTES", "--slow-consumer-ms"]) {
    assert.ok(stdout.includes(name), name);
  }
});
