import assert from "node:assert/strict";
import { RedisError, RedisProtocolError } from "../../lib/redis/errors.ts";
import { encodeCommand, RedisPush, type RedisReply, RespParser } from "../../lib/redis/resp.ts";

const text = new TextEncoder();

/** Every reply kind, as wire bytes and the value each must parse to. */
const CASES: [wire: string, expected: RedisReply | RedisPush][] = [
  ["+OK\r\n", "OK"],
  ["-ERR unknown command 'FOO'\r\n", new RedisError("ERR unknown command 'FOO'")],
  [":0\r\n", 0],
  [":-42\r\n", -42],
  [":1234567890123456\r\n", 1234567890123456],
  [":9007199254740991\r\n", 9007199254740991],
  [":-9007199254740991\r\n", -9007199254740991],
  [":9007199254740992\r\n", 9007199254740992n],
  [":-9007199254740993\r\n", -9007199254740993n],
  ["$5\r\nhello\r\n", "hello"],
  ["$0\r\n\r\n", ""],
  ["$-1\r\n", null],
  ["$4\r\na\r\nb\r\n", "a\r\nb"],
  [`$${text.encode("héllo 世界 🙂").length}\r\nhéllo 世界 🙂\r\n`, "héllo 世界 🙂"],
  ["*-1\r\n", null],
  ["*0\r\n", []],
  ["*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*0\r\n$-1\r\n", [1, ["x", []], null]],
  ["*2\r\n+QUEUED\r\n-WRONGTYPE wrong kind\r\n", [
    "QUEUED",
    new RedisError("WRONGTYPE wrong kind"),
  ]],
  ["_\r\n", null],
  ["#t\r\n", true],
  ["#f\r\n", false],
  [",3.25\r\n", 3.25],
  [",-1.5e+10\r\n", -1.5e10],
  [",inf\r\n", Infinity],
  [",-inf\r\n", -Infinity],
  [",nan\r\n", NaN],
  [
    "(3492890328409238509324850943850943825024385\r\n",
    3492890328409238509324850943850943825024385n,
  ],
  ["!21\r\nSYNTAX invalid syntax\r\n", new RedisError("SYNTAX invalid syntax")],
  ["=15\r\ntxt:Some string\r\n", "Some string"],
  [
    "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n_\r\n",
    new Map<RedisReply, RedisReply>([["first", 1], ["second", null]]),
  ],
  ["%0\r\n", new Map()],
  ["~3\r\n+a\r\n:2\r\n#t\r\n", new Set<RedisReply>(["a", 2, true])],
  ["|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n", "val"],
  ["*2\r\n|1\r\n+key-popularity\r\n*2\r\n$1\r\na\r\n,0.1923\r\n:1\r\n:2\r\n", [1, 2]],
  ["|0\r\n:7\r\n", 7],
  [
    ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
    new RedisPush(["message", "news", "hello"]),
  ],
];

const STREAM = text.encode(CASES.map(([wire]) => wire).join(""));
const EXPECTED = CASES.map(([, expected]) => expected);

function drain(parser: RespParser): (RedisReply | RedisPush)[] {
  const out: (RedisReply | RedisPush)[] = [];
  for (let reply = parser.next(); reply !== undefined; reply = parser.next()) out.push(reply);
  return out;
}

Deno.test("resp: every reply kind parses from one chunk", () => {
  const parser = new RespParser();
  parser.feed(STREAM);
  assert.deepEqual(drain(parser), EXPECTED);
  assert.equal(parser.buffered, 0);
});

Deno.test("resp: the stream cut into two at every byte offset parses the same", () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const parser = new RespParser();
    parser.feed(STREAM.subarray(0, cut));
    const replies = drain(parser);
    parser.feed(STREAM.subarray(cut));
    replies.push(...drain(parser));
    assert.deepEqual(replies, EXPECTED, `cut at ${cut}`);
    assert.equal(parser.buffered, 0);
  }
});

Deno.test("resp: the stream fed one byte at a time parses the same", () => {
  const parser = new RespParser();
  const replies: (RedisReply | RedisPush)[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    parser.feed(STREAM.subarray(i, i + 1));
    replies.push(...drain(parser));
  }
  assert.deepEqual(replies, EXPECTED);
});

Deno.test("resp: each reply cut at every offset is incomplete until its last byte", () => {
  for (const [wire, expected] of CASES) {
    const bytes = text.encode(wire);
    for (let cut = 0; cut < bytes.length; cut++) {
      const parser = new RespParser();
      parser.feed(bytes.subarray(0, cut));
      assert.equal(parser.next(), undefined, `${JSON.stringify(wire)} cut at ${cut}`);
      parser.feed(bytes.subarray(cut));
      assert.deepEqual(parser.next(), expected);
    }
  }
});

Deno.test("resp: integers past 2^53 are bigint, safe ones number", () => {
  const parser = new RespParser();
  parser.feed(text.encode(":9007199254740993\r\n:12\r\n:-9223372036854775808\r\n"));
  assert.equal(parser.next(), 9007199254740993n);
  assert.equal(parser.next(), 12);
  assert.equal(parser.next(), -9223372036854775808n);
});

Deno.test("resp: decode=false keeps bulk strings as bytes, binary intact", () => {
  const parser = new RespParser();
  const payload = new Uint8Array([0, 255, 13, 10, 128, 7]);
  parser.feed(text.encode("*2\r\n$6\r\n"));
  parser.feed(payload);
  parser.feed(text.encode("\r\n+OK\r\n"));
  const reply = parser.next(false);
  assert.deepEqual(reply, [payload, "OK"]);
  assert.ok((reply as RedisReply[])[0] instanceof Uint8Array);
});

Deno.test("resp: a large bulk string fed in small chunks arrives whole; the buffer empties", () => {
  const size = 3 * 1024 * 1024;
  const value = "x".repeat(size - 1) + "y";
  const bytes = text.encode(`$${size}\r\n${value}\r\n:5\r\n`);
  const parser = new RespParser();
  const replies: (RedisReply | RedisPush)[] = [];
  for (let at = 0; at < bytes.length; at += 4093) {
    parser.feed(bytes.subarray(at, at + 4093));
    replies.push(...drain(parser));
  }
  assert.equal(replies.length, 2);
  assert.equal((replies[0] as string).length, size);
  assert.ok((replies[0] as string).endsWith("xy"));
  assert.equal(replies[1], 5);
  assert.equal(parser.buffered, 0);
});

Deno.test("resp: malformed input throws RedisProtocolError", () => {
  for (const wire of ["?5\r\n", "+OK\r\r", ":12a\r\n", "$3\r\nabcd\r\n", "*x\r\n", ",one\r\n"]) {
    const parser = new RespParser();
    parser.feed(text.encode(wire));
    assert.throws(() => parser.next(), RedisProtocolError, JSON.stringify(wire));
  }
});

Deno.test("resp: encodeCommand writes arrays of bulk strings with byte lengths", () => {
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.equal(decode(encodeCommand(["PING"])), "*1\r\n$4\r\nPING\r\n");
  assert.equal(
    decode(encodeCommand(["SET", "é世", 1.5, -7, 9007199254740993n])),
    "*5\r\n$3\r\nSET\r\n$5\r\né世\r\n$3\r\n1.5\r\n$2\r\n-7\r\n$16\r\n9007199254740993\r\n",
  );
  assert.equal(
    decode(encodeCommand(["ZADD", "z", Infinity, "a", -Infinity, "b"])),
    "*6\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\ninf\r\n$1\r\na\r\n$4\r\n-inf\r\n$1\r\nb\r\n",
  );
  const long = "a".repeat(100) + "ü";
  assert.equal(decode(encodeCommand([long])), `*1\r\n$102\r\n${long}\r\n`);
  assert.equal(decode(encodeCommand([""])), "*1\r\n$0\r\n\r\n");
});

Deno.test("resp: encodeCommand's byte lengths match TextEncoder for every kind of text, and past its scratch buffer", () => {
  const utf8 = new TextEncoder();
  const texts = [
    "😀",
    "a\ud800b",
    "\udc00",
    "x\ud83d",
    "汉字 ok",
    "é".repeat(30_000),
    "z".repeat(70_000),
  ];
  for (const value of texts) {
    const bytes = utf8.encode(value);
    const expected = new Uint8Array([
      ...utf8.encode(`*2\r\n$3\r\nGET\r\n$${bytes.length}\r\n`),
      ...bytes,
      13,
      10,
    ]);
    assert.deepEqual(encodeCommand(["GET", value]), expected, JSON.stringify(value.slice(0, 8)));
  }
  // Each result is its own copy, not a view of a shared buffer.
  const first = encodeCommand(["PING", "a"]);
  encodeCommand(["PING", "b"]);
  assert.equal(new TextDecoder().decode(first), "*2\r\n$4\r\nPING\r\n$1\r\na\r\n");
});

Deno.test("resp: encodeCommand copies binary arguments byte for byte", () => {
  const payload = new Uint8Array([0, 255, 13, 10]);
  assert.deepEqual(
    encodeCommand(["SET", payload]),
    new Uint8Array([...text.encode("*2\r\n$3\r\nSET\r\n$4\r\n"), ...payload, 13, 10]),
  );
});

Deno.test("resp: encodeCommand refuses NaN and values it cannot send", () => {
  assert.throws(() => encodeCommand(["SET", "k", NaN]), TypeError);
  assert.throws(() => encodeCommand(["SET", "k", {} as unknown as string]), TypeError);
});

Deno.test("resp: an encoded command parses back through the parser", () => {
  const parser = new RespParser();
  parser.feed(encodeCommand(["HSET", "h", "f", 12]));
  assert.deepEqual(parser.next(), ["HSET", "h", "f", "12"]);
});
