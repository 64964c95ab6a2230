import assert from "node:assert/strict";
import { encodeClientFrame, FrameParser, Opcode } from "../../bench/ws_reader.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A server-to-client frame: unmasked, as servers send. */
function serverFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const masked = encodeClientFrame(opcode, payload);
  const head = masked.length - payload.length - 4;
  const frame = new Uint8Array(head + payload.length);
  frame.set(masked.subarray(0, head));
  frame[1] &= 0x7f;
  frame.set(payload, head);
  return frame;
}

Deno.test("bench FrameParser: frames of every length class, split at any byte boundary", () => {
  const texts = ["", "hi", "x".repeat(125), "y".repeat(126), "z".repeat(70_000)];
  const stream = new Uint8Array(
    texts.reduce((n, t) => n + serverFrame(Opcode.text, encode(t)).length, 0) + 3,
  );
  let at = 0;
  for (const text of texts) {
    const frame = serverFrame(Opcode.text, encode(text));
    stream.set(frame, at);
    at += frame.length;
  }
  stream.set(serverFrame(Opcode.ping, encode("p")), at);
  for (const size of [1, 2, 5, 127, 4096, stream.length]) {
    const parser = new FrameParser();
    const seen: [number, string][] = [];
    for (let i = 0; i < stream.length; i += size) {
      parser.push(stream.slice(i, i + size), (op, payload) => seen.push([op, decode(payload)]));
    }
    assert.deepEqual(seen, [...texts.map((t) => [Opcode.text, t]), [Opcode.ping, "p"]], `${size}`);
  }
});

Deno.test("bench encodeClientFrame: masked with a zero key, lengths encoded", () => {
  assert.deepEqual([...encodeClientFrame(Opcode.text, encode("hi"))], [
    0x81,
    0x82,
    0,
    0,
    0,
    0,
    104,
    105,
  ]);
  const medium = encodeClientFrame(Opcode.text, new Uint8Array(300));
  assert.deepEqual([...medium.subarray(0, 4)], [0x81, 0x80 | 126, 1, 44]);
  assert.equal(medium.length, 4 + 4 + 300);
  const large = encodeClientFrame(Opcode.pong, new Uint8Array(70_000));
  assert.deepEqual([...large.subarray(0, 10)], [0x8a, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
  // A masked frame parses back to its payload (the mask key is zero).
  const seen: string[] = [];
  new FrameParser().push(encodeClientFrame(Opcode.text, encode("back")), (_op, p) => {
    seen.push(decode(p));
  });
  assert.deepEqual(seen, ["back"]);
});
