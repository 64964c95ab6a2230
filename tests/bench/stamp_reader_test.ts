import assert from "node:assert/strict";
import { StampReader } from "../../bench/stamp_reader.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const frame = (content: string, from = "p2p_1") =>
  encode(
    `{"message-type":"message","from":"${from}","to":["p2p_2"],"topic":"",` +
      `"content-type":"text/plain","content":"${content}"}`,
  );

Deno.test("bench StampReader: send time and sequence from a frame's bytes", () => {
  const reader = new StampReader();
  assert.ok(reader.read(frame("1795417815158.123|42|xxxx")));
  assert.equal(reader.sentAt, 1795417815158.123);
  assert.equal(reader.seq, 42);
  // The same shape again (the remembered offset), then another shape (a scan).
  assert.ok(reader.read(frame("1795417815159.5|43|")));
  assert.deepEqual([reader.sentAt, reader.seq], [1795417815159.5, 43]);
  assert.ok(reader.read(frame("1795417815160|0|", "a_much_longer_sender")));
  assert.deepEqual([reader.sentAt, reader.seq], [1795417815160, 0]);
});

Deno.test("bench StampReader: frames without a stamp are refused", () => {
  const reader = new StampReader();
  assert.equal(reader.read(encode('{"message-type":"pong","to":"u","message-id":3}')), false);
  assert.equal(reader.read(frame("hello")), false, "no bar: not one of ours");
  assert.equal(reader.read(encode("")), false);
});

Deno.test("bench StampReader: the server's sent-at from a v2 frame's end, NaN without one", () => {
  const reader = new StampReader();
  const v2 = (tail: string) =>
    encode(
      `{"message-type":"message","from":"p2p_1","to":["p2p_2"],"topic":"",` +
        `"content-type":"text/plain","content":"1795417815158.5|1|x",${tail}`,
    );
  assert.ok(reader.read(v2('"id":"AbC-12_x","sent-at":1795417815160,"seq":17}')));
  assert.deepEqual([reader.sentAt, reader.seq, reader.acceptedAt], [
    1795417815158.5,
    1,
    1795417815160,
  ]);
  assert.ok(reader.read(frame("1795417815159|2|")), "a v1 frame");
  assert.ok(Number.isNaN(reader.acceptedAt));
  for (
    const tail of ['"sent-at":,"seq":3}', '"sent-at":5,"seq":}x', '"sent":5,"seq":3}', '"seq":3}']
  ) {
    assert.ok(reader.read(v2(tail)), tail);
    assert.ok(Number.isNaN(reader.acceptedAt), tail);
  }
});
