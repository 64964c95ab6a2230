/**
 * Cursors kept in memory at once and written in batches, for an engine
 * whose store is across the network: one write per user per period instead
 * of one per entry written to a socket.
 *
 * @module
 */

/**
 * The highest consumed seq per user, not yet written.
 *
 * A failed write keeps its cursors (the highest of old and new) for the
 * next one. After {@linkcode CursorBuffer.close} nothing more is taken or
 * written, so no retry outlives the engine.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { CursorBuffer } from "./cursor_buffer.ts";
 * const written: [string, number][][] = [];
 * const cursors = new CursorBuffer(async (batch) => void written.push(batch), 200);
 * cursors.consumed("Ron_W", 3);
 * cursors.consumed("Ron_W", 2); // never back
 * assert.equal(cursors.local("Ron_W"), 3);
 * await cursors.close(); // writes what is left
 * assert.deepEqual(written, [[["Ron_W", 3]]]);
 * ```
 */
export class CursorBuffer {
  readonly #write: (batch: [string, number][]) => Promise<void>;
  readonly #everyMs: number;
  readonly #maxUsers: number;
  #pending = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * @param write Writes a batch of `[user, seq]`; the store keeps the highest seq it has seen.
   * @param everyMs How long a consumed cursor may wait to be written.
   * @param maxUsers Past this many users waiting, they are written at once.
   */
  constructor(
    write: (batch: [string, number][]) => Promise<void>,
    everyMs: number,
    maxUsers = 500,
  ) {
    this.#write = write;
    this.#everyMs = everyMs;
    this.#maxUsers = maxUsers;
  }

  /** Records that `user`'s entries up to `seq` were consumed. */
  consumed(user: string, seq: number): void {
    if (this.#closed || seq <= (this.#pending.get(user) ?? 0)) return;
    this.#pending.set(user, seq);
    if (this.#pending.size >= this.#maxUsers) this.flush();
    else this.#schedule();
  }

  /** Whether a cursor of any of `users` waits to be written. */
  holdsAny(users: readonly string[]): boolean {
    if (this.#pending.size === 0) return false;
    for (const user of users) if (this.#pending.has(user)) return true;
    return false;
  }

  /** `user`'s cursor as far as it is not written yet (0 when nothing waits). */
  local(user: string): number {
    return this.#pending.get(user) ?? 0;
  }

  /**
   * Starts writing what waits, now. Anything the caller sends on the same
   * connection afterwards lands after it. Never rejects.
   */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return Promise.resolve();
    const batch = [...this.#pending];
    this.#pending = new Map();
    return this.#write(batch).then(() => {}, () => {
      for (const [user, seq] of batch) {
        if (seq > (this.#pending.get(user) ?? 0)) this.#pending.set(user, seq);
      }
      this.#schedule();
    });
  }

  /** Writes what waits, then takes and schedules nothing more. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#everyMs);
  }
}
