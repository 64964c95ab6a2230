/**
 * Presence: who holds a live WebSocket, on this node or, in a cluster, on
 * any. This file is the interface; `presence_local.ts` is the one-node
 * engine, and a cluster engine keeps entries with a time to live that each
 * node refreshes for its own sockets.
 *
 * @module
 */

import type { NamePage, PageQuery } from "./directory.ts";

/** Who is online. */
export interface Presence {
  /** A socket of `user` opened on this node. */
  online(user: string): void;
  /** The socket of `user` on this node closed. */
  offline(user: string): void;
  /**
   * `users` still hold sockets on this node: a cluster engine extends their
   * entries' time to live (the hub calls it from its clock).
   */
  refresh(users: readonly string[]): void;
  /** Online users, by name. */
  list(query: PageQuery): Promise<NamePage>;
  /**
   * Hands a frame meant for one socket (a notice) to the node that holds
   * `user`'s socket, if another node does (best effort). A one-node engine
   * has nowhere else to send it.
   */
  relay(user: string, frame: string): void;
  /** Releases the engine's resources (a cluster engine removes this node's entries). */
  close(): Promise<void>;
}
