/**
 * A hub on memory engines, for unit tests of the hub and the HTTP API.
 *
 * @module
 */

import { Hub, type HubOptions } from "../../lib/realtime/hub.ts";
import { MemoryDirectory } from "../../lib/store/directory_memory.ts";
import { MemoryMailbox } from "../../lib/store/mailbox_memory.ts";
import type { Presence } from "../../lib/store/presence.ts";
import type { Logger } from "../../lib/telemetry/log.ts";
import { silentLogger } from "../../lib/telemetry/log.ts";
import { HUB_OPTIONS } from "./fake_socket.ts";

/** Limits of the store for tests; any can be overridden. */
export interface TestStoreLimits {
  historyTtlMs: number;
  mailboxMax: number;
  maxBytes: number;
  maxUsers: number;
  maxTopics: number;
  sessionTtlMs: number;
}

const LIMITS: TestStoreLimits = {
  historyTtlMs: 3_600_000,
  mailboxMax: 10_000,
  maxBytes: 1 << 26,
  maxUsers: 10_000,
  maxTopics: 10_000,
  sessionTtlMs: 86_400_000,
};

/** A hub with a memory mailbox and directory (and `presence`, if given), not started. */
export function createTestHub(
  options: Partial<HubOptions & TestStoreLimits> = {},
  log: Logger = silentLogger,
  presence?: Presence,
) {
  const merged = { ...HUB_OPTIONS, ...LIMITS, ...options };
  const mailbox = new MemoryMailbox({
    offlineTtlMs: merged.offlineTtlMs,
    historyTtlMs: merged.historyTtlMs,
    mailboxMax: merged.mailboxMax,
    maxBytes: merged.maxBytes,
    maxMailboxes: merged.maxUsers,
    onAppended: (user, entry) => hub.offer(user, entry),
  });
  const directory = new MemoryDirectory({
    sessionTtlMs: merged.sessionTtlMs,
    maxUsers: merged.maxUsers,
    maxTopics: merged.maxTopics,
    maxSessions: merged.maxUsers,
  });
  const hub: Hub = new Hub(merged, { directory, mailbox, presence }, log);
  return { hub, mailbox, directory };
}
