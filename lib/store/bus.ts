/**
 * The bus between nodes of a cluster: what one node does that another must
 * act on at once — a login that replaced a session, a logout — when the
 * other node holds that session's socket. Delivery is best effort (Redis
 * pub/sub drops messages while a subscriber is away), so nodes also check
 * their sockets' sessions on their clock; the bus only makes it quick.
 *
 * @module
 */

/** Something another node must act on. */
export type BusEvent = {
  readonly kind: "session_ended";
  readonly sid: string;
  readonly user: string;
  readonly reason: "replaced" | "logged_out";
};

/** Publishes events to every node (this one included). */
export interface Bus {
  publish(event: BusEvent): void;
  close(): Promise<void>;
}
