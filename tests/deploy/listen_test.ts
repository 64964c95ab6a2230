import assert from "node:assert/strict";
import {
  listen,
  type ListenOptions,
  type ListenResult,
  parseListenArgs,
  toWebSocketUrl,
  UsageError,
} from "../../deploy/listen.ts";
import { api, eventually, login, sendDirect } from "../e2e/client.ts";
import { TestServer } from "../e2e/harness.ts";

const LISTEN = new URL("../../deploy/listen.ts", import.meta.url).pathname;

interface Captured {
  result: ListenResult;
  out: string[];
  err: string[];
}

async function capture(
  options: Partial<ListenOptions> & { url: string },
  signal?: AbortSignal,
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const result = await listen({ heartbeats: false, pingMs: 5000, ...options }, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    signal,
  });
  return { result, out, err };
}

function wsUrl(server: TestServer, sid: string): string {
  return `${server.url}/api/ws?sid=${encodeURIComponent(sid)}`;
}

Deno.test("listen args: defaults, both flag spellings, and every refusal names its reason", () => {
  assert.deepEqual(parseListenArgs(["ws://h:1/api/ws?sid=a"]), {
    url: "ws://h:1/api/ws?sid=a",
    count: undefined,
    seconds: undefined,
    heartbeats: false,
    pingMs: 5000,
  });
  assert.deepEqual(
    parseListenArgs([
      "--seconds=1.5",
      "https://h/api/ws?sid=a",
      "--heartbeats",
      "--ping-ms",
      "200",
    ]),
    { url: "wss://h/api/ws?sid=a", count: undefined, seconds: 1.5, heartbeats: true, pingMs: 200 },
  );
  const refused: [string[], RegExp][] = [
    [[], /URL is missing/],
    [["--count", "2"], /URL is missing/],
    [["ws://h/", "--count"], /--count needs a value/],
    [["ws://h/", "--count", "1.5"], /--count/],
    [["ws://h/", "--count", "0"], /--count/],
    [["ws://h/", "--seconds", "-1"], /--seconds/],
    [["ws://h/", "--seconds", ""], /--seconds/],
    [["ws://h/", "--heartbeats=yes"], /unexpected argument/],
    [["ws://h/", "--verbose"], /unexpected argument "--verbose"/],
    [["ws://h/", "ws://other/"], /unexpected argument/],
    [["localhost:8080/api/ws"], /not a ws:, wss:, http: or https: URL/],
    [["not a url"], /is not a URL/],
  ];
  for (const [args, reason] of refused) {
    assert.throws(() => parseListenArgs(args), (error: Error) => {
      assert.ok(error instanceof UsageError, args.join(" "));
      assert.match(error.message, reason, args.join(" "));
      return true;
    });
  }
});

Deno.test("listen args: http(s) URLs become ws(s) ones, keeping path and query", () => {
  assert.equal(
    toWebSocketUrl("http://127.0.0.1:8080/api/ws?sid=a&since=3"),
    "ws://127.0.0.1:8080/api/ws?sid=a&since=3",
  );
  assert.equal(
    toWebSocketUrl("wss://chat.example.com/api/ws?sid=a"),
    "wss://chat.example.com/api/ws?sid=a",
  );
});

Deno.test("listen: prints each frame as one JSON line, stops after --count, status lines hide the sid", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  for (const content of ["one", "two", "three"]) {
    assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], content)).status, 200);
  }
  const { result, out, err } = await capture({ url: wsUrl(server, ron), count: 2 });
  assert.deepEqual([result.reason, result.frames], ["count", 2]);
  const frames = out.map((line) => JSON.parse(line));
  assert.deepEqual(frames.map((f) => [f.from, f.to, f.content]), [
    ["Harry", ["Ron_W"], "one"],
    ["Harry", ["Ron_W"], "two"],
  ]);
  assert.ok(out.every((line) => !line.includes("\n")));
  assert.ok(err.some((line) => line.includes("connected to")), err.join("\n"));
  assert.ok(err.every((line) => !line.includes(ron)), "the sid is not printed");
  assert.equal(err.at(-1), "listen: done after 2 frames");
});

Deno.test("listen: its pings keep a socket alive past the client timeout (no probes to answer)", async () => {
  await using server = await TestServer.start({
    "client-timeout-ms": 700,
    "probe-interval-ms": 600_000,
  });
  const ron = await login(server, "Ron_W");
  const { result, out } = await capture({
    url: wsUrl(server, ron),
    seconds: 2.1,
    pingMs: 200,
    heartbeats: true,
  });
  // Three times the timeout and still open: only the pings kept it so.
  assert.equal(result.reason, "seconds", JSON.stringify(result));
  const acks = out.map((line) => JSON.parse(line)).filter((f) => f["message-type"] === "ack");
  assert.ok(acks.length >= 8, `${acks.length} acks`);
  assert.deepEqual(acks.slice(0, 3).map((f) => f["ack-id"]), [1, 2, 3]);
  assert.equal(result.frames, 0, "heartbeats never count as frames");
});

Deno.test("listen: answers every probe, so unanswered-probe closing (4008) never happens", async () => {
  await using server = await TestServer.start({
    "probe-interval-ms": 150,
    "probe-max-misses": 3,
  });
  const ron = await login(server, "Ron_W");
  const { result, out } = await capture({
    url: wsUrl(server, ron),
    seconds: 2,
    pingMs: 60_000,
    heartbeats: true,
  });
  assert.equal(result.reason, "seconds", JSON.stringify(result));
  const probes = out.map((line) => JSON.parse(line)).filter((f) => f["message-type"] === "pong");
  // Three unanswered ones would have closed it within ~450 ms.
  assert.ok(probes.length >= 6, `${probes.length} probes`);
  assert.ok(!server.log.some((line) => line.includes("4008")), server.log.join("\n"));
});

Deno.test("listen: heartbeats are not printed by default", async () => {
  await using server = await TestServer.start({ "probe-interval-ms": 100 });
  const ron = await login(server, "Ron_W");
  const { result, out } = await capture({ url: wsUrl(server, ron), seconds: 0.6, pingMs: 100 });
  assert.equal(result.reason, "seconds");
  assert.deepEqual(out, []);
});

Deno.test("listen: a close by the server ends it with the code and reason; abort closes with 1000", async () => {
  await using server = await TestServer.start();
  const ron = await login(server, "Ron_W");
  const listening = capture({ url: wsUrl(server, ron) });
  await eventually(async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: ron })).body.total === 1
  );
  await api(server, "POST", "/api/logout", { sid: ron });
  const { result, err } = await listening;
  assert.deepEqual([result.reason, result.code, result.detail], ["closed", 4000, "logged out"]);
  assert.equal(err.at(-1), "listen: the server closed the socket: 4000 logged out");

  const hermione = await login(server, "Hermione");
  const controller = new AbortController();
  const aborted = capture({ url: wsUrl(server, hermione) }, controller.signal);
  await eventually(async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: hermione })).body.total === 1
  );
  controller.abort();
  assert.equal((await aborted).result.reason, "signal");
  await eventually(() =>
    server.log.some((line) => line.includes("disconnect") && line.includes("1000"))
  );
});

Deno.test("listen: a dead sid fails the handshake and says so", async () => {
  await using server = await TestServer.start();
  const { result, err } = await capture({ url: wsUrl(server, "no-such-sid") });
  assert.equal(result.reason, "failed");
  assert.match(err.at(-1)!, /^listen: could not connect: .*401/);
});

Deno.test("listen, the command: Ctrl-C exits 0, a refused handshake 1, a bad command line 2", async () => {
  await using server = await TestServer.start();
  const ron = await login(server, "Ron_W");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", LISTEN, wsUrl(server, ron)],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  await eventually(async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: ron })).body.total === 1
  );
  child.kill("SIGINT");
  const output = await child.output();
  assert.equal(output.code, 0);
  assert.match(new TextDecoder().decode(output.stderr), /listen: stopped, 0 frames/);

  const run = async (...args: string[]) =>
    (await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", LISTEN, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output()).code;
  assert.equal(await run(wsUrl(server, "dead-sid")), 1);
  assert.equal(await run("--count", "two", wsUrl(server, ron)), 2);
  assert.equal(await run("--help"), 0);
});
