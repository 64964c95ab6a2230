/**
 * A send, from request to mailbox and back: the message and its recipients
 * (composed from a validated request), the one atomic append that accepts it,
 * and what the mailbox's answer means for the client (the 200 body, or the
 * refusal to throw).
 *
 * @module
 */

import { Failure, serverFull } from "../protocol/errors.ts";
import { systemNotice } from "../protocol/frames.ts";
import { type Message, newMessageId } from "../protocol/messages.ts";
import type { SendRequest } from "../protocol/requests.ts";
import type { Directory } from "../store/directory.ts";
import type { AppendResult, Mailbox } from "../store/mailbox.ts";
import type { HubMetrics } from "../telemetry/server_metrics.ts";
import type { Tracing } from "../telemetry/tracing.ts";

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

/** An `Idempotency-Key` and the hash of the body it came with. */
export interface Idempotency {
  readonly key: string;
  readonly bodyHash: string;
}

/** What a {@linkcode Sender} works with: the hub's store, counters and clock. */
export interface SenderDependencies {
  readonly directory: Directory;
  readonly mailbox: Mailbox;
  /** Where accepted sends are counted, if anywhere. */
  readonly metrics?: HubMetrics;
  /** Spans around sends, if traced. */
  readonly tracing?: Tracing;
  /** Hands a frame to `user`'s socket, wherever it is. */
  readonly notify: (user: string, frame: string) => void;
  /** A send's accept time; never earlier than the one before. */
  readonly now: () => number;
}

/**
 * Accepts sends: one atomic append to the mailbox per send, so every
 * recipient's entry and the sender's copy get their seqs in the order sends
 * are accepted (per sender and per topic, the same order at every member).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sender } from "./sends.ts";
 * import { MemoryDirectory } from "../store/directory_memory.ts";
 * import { MemoryMailbox } from "../store/mailbox_memory.ts";
 * const mailbox = new MemoryMailbox({
 *   offlineTtlMs: 600_000, historyTtlMs: 600_000, mailboxMax: 100, maxBytes: 1 << 20,
 *   maxMailboxes: 100,
 * });
 * const directory = new MemoryDirectory({
 *   sessionTtlMs: 60_000, maxUsers: 100, maxTopics: 100, maxSessions: 100,
 * });
 * const sender = new Sender({ directory, mailbox, notify: () => {}, now: Date.now });
 * const accepted = await sender.send({ kind: "direct", from: "Harry", to: ["Ron_W"], content: "hi" });
 * const [entry] = await mailbox.read("Ron_W", 0, 10);
 * assert.equal(entry.message.id, accepted.id);
 * ```
 */
export class Sender {
  readonly #deps: SenderDependencies;

  /** @param deps The store, counters, tracing, notices and clock. */
  constructor(deps: SenderDependencies) {
    this.#deps = deps;
  }

  /** Whether {@linkcode Sender.sendAs} can check a sid and append in one step. */
  get checksSessions(): boolean {
    return this.#deps.mailbox.checksSessions === true;
  }

  /**
   * Sends a message: one-to-one to each of `to` separately, or to every
   * member of a topic but the sender (who, with the mentioned users, joins
   * it first). The sender gets their own copy. For an unknown topic the
   * sender's socket gets `__topic_not_found__` and `not_found` is thrown;
   * a cap refuses the whole send (`too_many_requests`).
   */
  send(request: SendRequest, idempotency?: Idempotency): Promise<Accepted> {
    return this.#traced(request, idempotency, () => this.#send(request, idempotency));
  }

  /**
   * Sends `request` as {@linkcode Sender.send} does, with `sid` checked in
   * the same step as the append (see {@linkcode Sender.checksSessions}): a
   * one-to-one send then costs one round trip to the store instead of a
   * session check and an append. Resolves `undefined`, having changed
   * nothing, when `sid` is not vouched for as `request.from`'s live session:
   * then authenticate and {@linkcode Sender.send}, which give the exact answer.
   */
  sendAs(
    sid: string,
    request: SendRequest,
    idempotency?: Idempotency,
  ): Promise<Accepted | undefined> {
    if (request.kind !== "direct" || !this.checksSessions) return Promise.resolve(undefined);
    return this.#traced(request, idempotency, () => this.#sendAs(sid, request, idempotency));
  }

  // A send as an `im.send` span when tracing is on.
  #traced<T>(
    request: SendRequest,
    idempotency: Idempotency | undefined,
    send: () => Promise<T>,
  ): Promise<T> {
    const tracing = this.#deps.tracing;
    if (!tracing?.enabled) return send();
    const attributes = { "im.kind": request.kind, "im.idempotent": idempotency !== undefined };
    return tracing.span("im.send", attributes, send);
  }

  async #sendAs(
    sid: string,
    request: SendRequest,
    idempotency?: Idempotency,
  ): Promise<Accepted | undefined> {
    const { directory, mailbox, metrics, now } = this.#deps;
    const { message, recipients } = compose(request, now());
    const result = await mailbox.append({ message, recipients, ownCopy: true, idempotency, sid });
    if (result.kind === "unverified") return undefined;
    directory.touch({ sid, username: request.from, lastSeen: now() });
    if (result.kind === "appended") metrics?.acceptedDirect.inc();
    return outcome(result, message);
  }

  async #send(request: SendRequest, idempotency?: Idempotency): Promise<Accepted> {
    const { directory, mailbox, metrics, now } = this.#deps;
    let members: readonly string[] | undefined;
    if (request.kind === "topic") {
      // Members and mentions get it; they join only once it is accepted, so a
      // refused send changes no membership either.
      members = await directory.members(request.topic);
      if (!members) {
        this.#deps.notify(request.from, systemNotice("__topic_not_found__", request.topic));
        throw topicNotFound(request.topic);
      }
    }
    const { message, recipients } = compose(request, now(), members);
    const result = await mailbox.append({ message, recipients, ownCopy: true, idempotency });
    if (result.kind === "appended") {
      if (message.kind === "topic") {
        await directory.join(message.topic, [message.from, ...message.to]);
      }
      (message.kind === "direct" ? metrics?.acceptedDirect : metrics?.acceptedTopic)?.inc();
    }
    return outcome(result, message);
  }
}

/**
 * The refusal of an operation on a topic that does not exist.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { topicNotFound } from "./sends.ts";
 * assert.equal(topicNotFound("quidditch").kind, "not_found");
 * ```
 */
export function topicNotFound(topic: string): Failure {
  return new Failure("not_found", `topic ${topic} does not exist`);
}
