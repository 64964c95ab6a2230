/**
 * What the hub does on its clock: the slow-consumer and heartbeat rules for
 * every socket, each socket's turn to refresh its presence entry, a
 * cluster's re-check of its sockets' sessions, and the store's expiry.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import type { Directory } from "../store/directory.ts";
import type { Mailbox } from "../store/mailbox.ts";
import type { Presence } from "../store/presence.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Connection } from "./connection.ts";
import { RefreshSchedule } from "./refresh_schedule.ts";

/** The timings the upkeep follows. */
export interface UpkeepOptions {
  clientTimeoutMs: number;
  slowConsumerMs: number;
  /** In a cluster sessions may end on other nodes, and HTTP may reach other nodes. */
  cluster?: boolean;
}

/** What the upkeep works on: the hub's connections and store, and how to end a session. */
export interface UpkeepParts {
  readonly connections: ReadonlyMap<string, Connection>;
  readonly directory: Directory;
  readonly mailbox: Mailbox;
  readonly presence: Presence;
  readonly log: Logger;
  /** Closes the socket of a session that ended on another node (4001 or 4000). */
  sessionEnded(sid: string, user: string, reason: "replaced" | "logged_out"): void;
}

/**
 * The hub's periodic work; the hub calls {@linkcode Upkeep.tick} from its clock.
 *
 * @example Usage
 * ```ts ignore
 * const upkeep = new Upkeep(options, { connections, directory, mailbox, presence, log, sessionEnded });
 * upkeep.opened(connection, Date.now()); // for each socket the hub takes on
 * setInterval(() => upkeep.tick(Date.now()), 1000);
 * ```
 */
export class Upkeep {
  readonly #options: UpkeepOptions;
  readonly #parts: UpkeepParts;
  readonly #refreshes: RefreshSchedule;
  // Connections whose silence is being checked against the store.
  readonly #rechecking = new Set<Connection>();
  #sweeping = false;
  #checkedAt = 0;
  #checking = false;

  /**
   * @param options The client timeout, the slow-consumer rule, whether in a cluster.
   * @param parts The connections, the store and the presence engine.
   */
  constructor(options: UpkeepOptions, parts: UpkeepParts) {
    this.#options = options;
    this.#parts = parts;
    this.#refreshes = new RefreshSchedule(this.#intervalMs);
  }

  // Presence entries live for the client timeout: each is refreshed well
  // within it, and sessions are re-checked as often.
  get #intervalMs(): number {
    return Math.max(1000, this.#options.clientTimeoutMs / 3);
  }

  /** `connection` was just taken on (its presence entry written at `now`). */
  opened(connection: Connection, now: number): void {
    this.#refreshes.add(connection, now);
  }

  /** One tick of the hub's clock, at `now`. */
  tick(now: number): void {
    const { slowConsumerMs } = this.#options;
    const refresh: string[] = [];
    for (const connection of this.#parts.connections.values()) {
      const fullSince = connection.fullSince;
      if (fullSince !== 0 && now - fullSince > slowConsumerMs) {
        connection.close(Close.slowConsumer);
        continue;
      }
      const verdict = connection.heartbeat.check(now, connection.session.lastSeen);
      if (verdict.action === "probe") connection.probe(verdict.id);
      else if (verdict.action === "close") {
        if (verdict.why === "silent" && this.#options.cluster) this.#closeIfSilent(connection);
        else connection.close(Close.heartbeatTimeout);
      }
      // Not one closed just now: its entry is gone, a refresh would bring it back.
      if (!connection.closed && this.#refreshes.take(connection, now)) {
        refresh.push(connection.username);
      }
    }
    if (refresh.length > 0) this.#parts.presence.refresh(refresh);
    const checkDue = now - this.#checkedAt >= this.#intervalMs;
    if (this.#options.cluster && !this.#checking && checkDue) {
      this.#checkedAt = now;
      this.#checkSessions();
    }
    if (this.#sweeping) return;
    this.#sweeping = true;
    Promise.all([this.#parts.mailbox.sweep(), this.#parts.directory.sweep()])
      .catch((error) =>
        this.#parts.log("error", { during: "sweep", error: String(error) }, "error")
      )
      .finally(() => this.#sweeping = false);
  }

  // In a cluster the user's HTTP requests may go to other nodes: the session
  // in the store knows their last sign of life.
  async #closeIfSilent(connection: Connection): Promise<void> {
    if (this.#rechecking.has(connection)) return;
    this.#rechecking.add(connection);
    try {
      const stored = await this.#parts.directory.session(connection.session.sid);
      const lastSeen = Math.max(connection.session.lastSeen, stored?.lastSeen ?? 0);
      connection.session.lastSeen = lastSeen;
      if (Date.now() - lastSeen > this.#options.clientTimeoutMs) {
        connection.close(Close.heartbeatTimeout);
      }
    } catch {
      // The store is away: judge by what this node saw.
      connection.close(Close.heartbeatTimeout);
    } finally {
      this.#rechecking.delete(connection);
    }
  }

  // Word of a session ended on another node may be lost: a socket whose session ended
  // while this node missed the event is closed here, a little later. One check at a
  // time: a node's 19,000 sockets take longer than the interval (~1.6 ms a round trip
  // while the node is busy), and checks that overlapped only added load.
  async #checkSessions(): Promise<void> {
    this.#checking = true;
    try {
      for (const connection of [...this.#parts.connections.values()]) {
        const { session } = connection;
        if (await this.#parts.directory.session(session.sid)) continue;
        const why = await this.#parts.directory.replaced(session) ? "replaced" : "logged_out";
        this.#parts.sessionEnded(session.sid, session.username, why);
      }
    } catch {
      // The store is away: a later tick tries again.
    } finally {
      this.#checking = false;
    }
  }
}
