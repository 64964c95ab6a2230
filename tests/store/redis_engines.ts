/**
 * Runs the store's Redis engines against throwaway `redis-server`s for the
 * contract suites: each `open` starts a server of its own, `reopen` closes
 * the engine and opens a new one on the same server, and closing the last
 * engine of a server stops it.
 *
 * @module
 */

import type { Directory, DirectoryOptions } from "../../lib/store/directory.ts";
import { RedisDirectory } from "../../lib/store/directory_redis.ts";
import type { Mailbox, MailboxOptions } from "../../lib/store/mailbox.ts";
import { RedisMailbox } from "../../lib/store/mailbox_redis.ts";
import { RedisServer } from "../redis/redis_server.ts";

/** Reconnects fast, so outage tests stay short. */
export const FAST = { backoff: { initialMs: 5, maxMs: 50 } };

/** Mailbox limits roomy enough that the Redis-only tests never meet one by accident. */
export const LIMITS = {
  offlineTtlMs: 60_000,
  historyTtlMs: 600_000,
  mailboxMax: 1000,
  maxBytes: 1 << 24,
  maxMailboxes: 1000,
};

const servers = new WeakMap<object, RedisServer>();

// The engine with its close() also stopping the server, unless `keep`.
function owning<T extends { close(): Promise<void> }>(engine: T, server: RedisServer): T {
  const close = engine.close.bind(engine);
  engine.close = async () => {
    await close();
    if (servers.get(engine) === server) await server.kill9();
  };
  servers.set(engine, server);
  return engine;
}

async function reopenOn<T extends { close(): Promise<void> }>(
  engine: T,
  open: (server: RedisServer) => Promise<T>,
): Promise<T> {
  const server = servers.get(engine)!;
  servers.delete(engine);
  await engine.close();
  return owning(await open(server), server);
}

/** The mailbox engine for `testMailbox`. */
export const mailboxEngine = {
  async open(options: MailboxOptions): Promise<Mailbox> {
    const server = await RedisServer.start();
    return owning(await RedisMailbox.connect(server.url, { ...options, link: FAST }), server);
  },
  reopen(mailbox: Mailbox, options: MailboxOptions): Promise<Mailbox> {
    return reopenOn(
      mailbox,
      (server) => RedisMailbox.connect(server.url, { ...options, link: FAST }),
    );
  },
};

/** The directory engine for `testDirectory`. */
export const directoryEngine = {
  async open(options: DirectoryOptions): Promise<Directory> {
    const server = await RedisServer.start();
    return owning(await RedisDirectory.connect(server.url, { ...options, link: FAST }), server);
  },
  reopen(directory: Directory, options: DirectoryOptions): Promise<Directory> {
    return reopenOn(
      directory,
      (server) => RedisDirectory.connect(server.url, { ...options, link: FAST }),
    );
  },
};
