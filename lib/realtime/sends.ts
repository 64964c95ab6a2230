/**
 * A send, from request to mailbox and back: the message and its recipients
 * (composed from a validated request), and what the mailbox's answer means
 * for the client (the 200 body, or the refusal to throw).
 *
 * @module
 */

import { Failure, serverFull } from "../protocol/errors.ts";
import { type Message, newMessageId } from "../protocol/messages.ts";
import type { SendRequest } from "../protocol/requests.ts";
import type { AppendResult } from "../store/mailbox.ts";

/** An accepted send: the 200 body of `POST /api/messages`. */
export interface Accepted {
  readonly id: string;
  readonly sentAt: number;
}

/**
 * The message of `request` and who gets it: each of `to` once (one-to-one),
 * or the topic's `members` and the mentioned, the sender left out.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { compose } from "./sends.ts";
 * const { message, recipients } = compose(
 *   { kind: "topic", from: "Harry", topic: "quidditch", mentions: ["Neville"], content: "hi" },
 *   1000,
 *   ["Harry", "Ron_W"],
 * );
 * assert.deepEqual(recipients, ["Ron_W", "Neville"]);
 * assert.deepEqual([message.kind, message.to, message.sentAt], ["topic", ["Neville"], 1000]);
 * ```
 *
 * @param request The validated send.
 * @param sentAt When it is accepted.
 * @param members The topic's members (topic sends only).
 */
export function compose(
  request: SendRequest,
  sentAt: number,
  members: readonly string[] = [],
): { message: Message; recipients: readonly string[] } {
  const { from, content } = request;
  const id = newMessageId();
  if (request.kind === "direct") {
    const to = [...new Set(request.to)];
    return {
      message: { id, sentAt, kind: "direct", from, to, topic: "", content },
      recipients: to,
    };
  }
  const { topic, mentions } = request;
  // One Set, in order: members, then mentions not already members. A topic's
  // member list can be long, and this runs for every send to it.
  const recipients = new Set(members);
  for (const name of mentions) recipients.add(name);
  recipients.delete(from);
  return {
    message: { id, sentAt, kind: "topic", from, to: mentions, topic, content },
    recipients: [...recipients],
  };
}

/**
 * The 200 body of an accepted (or replayed) send, or the refusal.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { outcome } from "./sends.ts";
 * const message = { id: "m1", sentAt: 5 };
 * assert.deepEqual(outcome({ kind: "appended", seqs: [1] }, message), { id: "m1", sentAt: 5 });
 * assert.throws(() => outcome({ kind: "mailbox_full", user: "Ron_W" }, message), /Ron_W/);
 * ```
 *
 * @throws {Failure} `unprocessable` for a key reused with another body,
 * `too_many_requests` (with its reason) for a cap.
 */
export function outcome(result: AppendResult, message: Pick<Message, "id" | "sentAt">): Accepted {
  switch (result.kind) {
    case "appended":
      return { id: message.id, sentAt: result.sentAt ?? message.sentAt };
    case "replayed":
      return { id: result.id, sentAt: result.sentAt };
    case "key_conflict":
      throw new Failure(
        "unprocessable",
        "this Idempotency-Key was used for another body; use a new key for a new message",
      );
    case "mailbox_full":
      throw new Failure(
        "too_many_requests",
        `the mailbox of ${result.user} is full: too many undelivered messages`,
        { reason: "mailbox_full" },
      );
    case "mailboxes_full":
      throw serverFull("mailboxes");
    case "store_full":
      throw new Failure("too_many_requests", "the message store is full", {
        reason: "store_full",
      });
    case "unverified":
      // The hub answers it by checking the session the long way.
      throw new Error("an unverified append reached outcome()");
  }
}
