/**
 * The one-node engine of {@linkcode Presence}: the users with a socket here.
 *
 * @module
 */

import { SortedNames } from "../util/sorted_names.ts";
import type { NamePage, PageQuery } from "./directory.ts";
import type { Presence } from "./presence.ts";

/**
 * Presence of a single server.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalPresence } from "./presence_local.ts";
 * const presence = new LocalPresence();
 * presence.online("Ron_W");
 * presence.online("Harry");
 * assert.deepEqual(await presence.list({}), { names: ["Harry", "Ron_W"], total: 2 });
 * presence.offline("Harry");
 * assert.deepEqual(await presence.list({ after: "Harry" }), { names: ["Ron_W"], total: 1 });
 * ```
 */
export class LocalPresence implements Presence {
  readonly #online = new SortedNames();

  online(user: string): void {
    this.#online.add(user);
  }

  offline(user: string): void {
    this.#online.delete(user);
  }

  refresh(): void {}

  relay(): void {}

  list({ after, limit = Infinity }: PageQuery): Promise<NamePage> {
    return Promise.resolve({ names: this.#online.page(after, limit), total: this.#online.size });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
