/**
 * Lua scripts run by their SHA1, so the source crosses the network only when
 * the server does not have it cached (after a restart, a failover or
 * `SCRIPT FLUSH`).
 *
 * @module
 */

import type { CommandOptions } from "./client.ts";
import { RedisError } from "./errors.ts";
import type { RedisArg, RedisReply } from "./resp.ts";

/** Anything that sends a command and returns its reply, such as a `RedisClient`. */
export interface RedisCommander {
  /** Sends `args` and resolves with the reply; an error reply rejects with `RedisError`. */
  command(args: readonly RedisArg[], options?: CommandOptions): Promise<RedisReply>;
}

/**
 * A Lua script and its SHA1.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisScript } from "./script.ts";
 *
 * const script = new RedisScript("return 1");
 * assert.equal(await script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
 * ```
 *
 * @example Running it
 * ```ts ignore
 * import { RedisClient } from "./client.ts";
 * import { RedisScript } from "./script.ts";
 *
 * const next = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
 * await using client = await RedisClient.connect("redis://127.0.0.1:6379");
 * console.log(await next.run(client, ["seq:alice"], [1]));
 * ```
 */
export class RedisScript {
  #sha1: Promise<string> | undefined;
  // The digest once known, so a run sends its command in the same turn as
  // the call: calls made in a row then reach Redis in that order.
  #hex: string | undefined;

  /**
   * Wraps a script; its SHA1 is computed on first use.
   *
   * @param source The Lua source, kept as `source`.
   */
  constructor(readonly source: string) {}

  /** The hex SHA1 of the source, the name Redis caches it under. */
  sha1(): Promise<string> {
    this.#sha1 ??= crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.source))
      .then((digest) => this.#hex = new Uint8Array(digest).toHex());
    return this.#sha1;
  }

  /**
   * Runs the script by EVALSHA; when the server answers NOSCRIPT, runs it
   * once by EVAL, which also caches it for the next EVALSHA.
   *
   * @param client Where to run it.
   * @param keys The keys it touches (`KEYS`).
   * @param args Its other arguments (`ARGV`).
   * @param options Deadline, signal and decoding, as for `RedisClient.command`.
   * @returns The script's reply.
   * @throws {RedisError} When the script fails or returns an error.
   */
  async run(
    client: RedisCommander,
    keys: readonly RedisArg[] = [],
    args: readonly RedisArg[] = [],
    options?: CommandOptions,
  ): Promise<RedisReply> {
    // Built once (a topic send's ARGV holds every member); only the rare EVAL copies it.
    const command = ["EVALSHA", this.#hex ?? await this.sha1(), keys.length, ...keys, ...args];
    try {
      return await client.command(command, options);
    } catch (error) {
      if (!(error instanceof RedisError) || error.code !== "NOSCRIPT") throw error;
      return await client.command(["EVAL", this.source, ...command.slice(2)], options);
    }
  }
}
