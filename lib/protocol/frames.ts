/**
 * WebSocket frames both ways: encoders for the notices and heartbeat frames
 * the server sends, and a parser for what clients send.
 *
 * The frames of stored messages are not here but in `messages.ts`, which
 * encodes the part a message's recipients share once per message.
 *
 * @module
 */

/** The system notices of the contract that are not mailbox entries. */
export type SystemNotice = "__topic_not_found__";

/** The numbers of the `__resumed__` notice. */
export interface ResumedNotice {
  readonly since: number;
  readonly first: number;
  readonly last: number;
  readonly recovered: boolean;
}

/**
 * Encodes the notice a socket opened with `since` gets first.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resumed } from "./frames.ts";
 * assert.deepEqual(JSON.parse(resumed({ since: 5, first: 3, last: 9, recovered: true })), {
 *   "message-type": "system", topic: "__resumed__", "content-type": "application/json",
 *   content: { since: 5, first: 3, last: 9, recovered: true },
 * });
 * ```
 */
export function resumed(notice: ResumedNotice): string {
  return JSON.stringify({
    "message-type": "system",
    topic: "__resumed__",
    "content-type": "application/json",
    content: {
      since: notice.since,
      first: notice.first,
      last: notice.last,
      recovered: notice.recovered,
    },
  });
}

/**
 * Encodes a system notice about a topic that is not a mailbox entry (the
 * deletion notice is one: see `messages.ts`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemNotice } from "./frames.ts";
 * assert.deepEqual(JSON.parse(systemNotice("__topic_not_found__", "philosophers_stone")), {
 *   "message-type": "system", topic: "__topic_not_found__",
 *   "content-type": "application/json", content: { topic: "philosophers_stone" },
 * });
 * ```
 */
export function systemNotice(notice: SystemNotice, topic: string): string {
  return JSON.stringify({
    "message-type": "system",
    topic: notice,
    "content-type": "application/json",
    content: { topic },
  });
}

/**
 * Encodes the answer to a frame the server could not accept.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { badRequest } from "./frames.ts";
 * const frame = JSON.parse(badRequest("frame is not valid JSON"));
 * assert.equal(frame.topic, "__bad_request__");
 * assert.deepEqual(frame.content, { error: "frame is not valid JSON" });
 * ```
 */
export function badRequest(error: string): string {
  return JSON.stringify({
    "message-type": "system",
    topic: "__bad_request__",
    "content-type": "application/json",
    content: { error },
  });
}

/**
 * Encodes the server's heartbeat probe.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pong } from "./frames.ts";
 * assert.equal(pong("Ron_W", 11), '{"message-type":"pong","to":"Ron_W","message-id":11}');
 * ```
 */
export function pong(to: string, messageId: number): string {
  return `{"message-type":"pong","to":"${to}","message-id":${messageId}}`;
}

/**
 * Encodes the answer to a client's ping, echoing its id as given.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ack } from "./frames.ts";
 * assert.equal(ack(10), '{"message-type":"ack","ack-id":10}');
 * assert.equal(ack("ten"), '{"message-type":"ack","ack-id":"ten"}');
 * ```
 */
export function ack(id: FrameId): string {
  return JSON.stringify({ "message-type": "ack", "ack-id": id });
}

/** A heartbeat id: the contract allows a number or a string. */
export type FrameId = number | string;

/** What a client may send over its socket, already validated. */
export type ClientFrame =
  | { readonly type: "ping"; readonly id: FrameId }
  | { readonly type: "ack"; readonly id: FrameId };

/** The result of {@linkcode parseClientFrame}: a frame, or why there is none. */
export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; error: string };

/**
 * Parses a text frame from a client.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseClientFrame } from "./frames.ts";
 * assert.deepEqual(parseClientFrame('{"message-type":"ping","message-id":10,"from":"Ron_W"}'), {
 *   ok: true,
 *   frame: { type: "ping", id: 10 },
 * });
 * assert.equal(parseClientFrame("not json").ok, false);
 * ```
 *
 * @param text The frame's text.
 * @returns The frame, or a reason fit for a `__bad_request__` notice.
 */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: "frame is not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "frame must be a JSON object" };
  }
  const fields = value as Record<string, unknown>;
  const type = fields["message-type"];
  if (type === "ping") {
    const id = fields["message-id"];
    return isFrameId(id)
      ? { ok: true, frame: { type, id } }
      : { ok: false, error: "ping needs a message-id (number or string)" };
  }
  if (type === "ack") {
    const id = fields["ack-id"];
    return isFrameId(id)
      ? { ok: true, frame: { type, id } }
      : { ok: false, error: "ack needs an ack-id (number or string)" };
  }
  return {
    ok: false,
    error: typeof type === "string"
      ? `unknown message-type ${
        JSON.stringify(type.slice(0, 40))
      }; send messages with POST /api/messages`
      : "frame needs a message-type",
  };
}

function isFrameId(value: unknown): value is FrameId {
  return (typeof value === "number" && Number.isFinite(value)) ||
    (typeof value === "string" && value.length <= 256);
}
