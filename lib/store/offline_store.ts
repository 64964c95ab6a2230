/**
 * Frames kept for users who cannot take them now: offline users, and sockets
 * whose outbox is full. Per user, in send order, until they expire.
 *
 * This file is the interface; each engine is a file beside it
 * (`offline_store_<engine>.ts`). It is synchronous
 * on purpose, so routing a message stays one atomic step of the event loop
 * (and `node:sqlite`, the likely durable engine, is synchronous too).
 *
 * @module
 */

/** A frame kept for one user until it is written to their socket or expires. */
export interface StoredFrame {
  /** The encoded frame. */
  readonly frame: string;
  /** When the message was accepted (ms since the epoch); stored frames expire from here. */
  readonly sentAt: number;
  /** The topic a chat message belongs to, so deleting the topic can purge it. */
  readonly topic?: string;
}

/** Where undeliverable frames wait for their user. */
export interface OfflineStore {
  /** Appends a frame for `user`, behind everything already stored for them. */
  push(user: string, frame: StoredFrame): void;
  /** Puts frames back in front of `user`'s queue (they are older than what is stored). */
  requeue(user: string, frames: readonly StoredFrame[]): void;
  /** Removes and returns up to `max` of `user`'s oldest unexpired frames. */
  take(user: string, max: number): StoredFrame[];
  /** Whether anything is stored for `user` (expired frames may still count until swept). */
  has(user: string): boolean;
  /** Drops every stored chat message of `topic`; returns how many. */
  purgeTopic(topic: string): number;
  /** Frees expired frames; returns how many. */
  sweep(): number;
  /** Stored frames. */
  readonly size: number;
  /** Users with stored frames. */
  readonly recipients: number;
}
