import assert from "node:assert/strict";
import { api, eventually, expectSentinel, login, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";
import { RawSocket } from "./raw_socket.ts";

Deno.test("slow consumer: closed with 4009, others unaffected, nothing lost or doubled", async () => {
  const count = 60;
  const padding = "x".repeat(400_000);
  await using server = await TestServer.start({
    "outbox-capacity": 8,
    "slow-consumer-ms": 500,
    "max-body-bytes": 600_000,
  });
  const [harry, slow, fast] = await Promise.all(
    ["Harry", "Slowpoke", "Speedy"].map((u) => login(server, u)),
  );
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "flood" } });
  await api(server, "POST", "/api/topics/flood/actions/join", { sid: slow });
  await api(server, "POST", "/api/topics/flood/actions/join", { sid: fast });

  // The slow client completes the handshake and then never reads.
  const raw = await RawSocket.connect(server.url, `/api/ws?sid=${slow}`);
  await using speedy = await TestSocket.open(server, fast);
  await eventually(async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: harry })).body.total === 2
  );

  const fastArrivals: number[] = [];
  const fastDone = (async () => {
    for (let i = 0; i < count; i++) {
      const frame = await speedy.next(10_000);
      fastArrivals.push(Date.now());
      assert.equal(frame.content.split(":")[0], String(i));
    }
  })();
  const sentAt: number[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal((await sendTopic(server, harry, "Harry", "flood", `${i}:${padding}`)).status, 200);
    sentAt.push(Date.now());
  }
  await fastDone;
  const worstDelay = Math.max(...fastArrivals.map((at, i) => at - sentAt[i]));
  assert.ok(worstDelay < 1000, `the fast reader was delayed ${worstDelay} ms`);

  // The slow one is declared gone and goes offline.
  await eventually(
    async () => {
      const online = (await api(server, "GET", "/api/users?online=true", { sid: harry })).body.list;
      return !online.some((u: { username: string }) => u.username === "Slowpoke");
    },
    5000,
    "slow consumer closed",
  );
  assert.ok(server.log.some((line) => line.includes("slow-consumer") && line.includes("Slowpoke")));

  // What the server did write is still in flight to it, followed by 4009.
  const written = await raw.readAll(10_000);
  raw.close();
  const close = written.at(-1);
  assert.deepEqual(close?.kind === "close" && [close.code, close.reason], [4009, "slow consumer"]);
  const firstPart = written.flatMap((f) =>
    f.kind === "text" ? [JSON.parse(f.text).content.split(":")[0]] : []
  );
  assert.ok(firstPart.length < count, `the slow reader got ${firstPart.length} before the close`);

  // The rest waits as offline messages and arrives, in order, on reconnect.
  await using again = await TestSocket.open(server, slow);
  const rest = (await again.take(count - firstPart.length, 10_000)).map((f) =>
    f.content.split(":")[0]
  );
  assert.deepEqual([...firstPart, ...rest], Array.from({ length: count }, (_, i) => String(i)));
  await expectSentinel(server, again, "Slowpoke", "nothing doubled");
});
