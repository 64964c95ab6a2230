/**
 * The Redis engine of {@linkcode Directory} (`IM_REDIS_URL`): users,
 * sessions, password hashes, topics and members shared by every node. The
 * key layout and the scripts' contracts are in `directory_redis_lua.ts`.
 *
 * - A sid works on every node as soon as `openSession` resolved: the
 *   session is in Redis, and every lookup asks Redis (`ZSCORE` and `GET` in
 *   one round trip; the `LOOKUP` script only to end a session found idle).
 * - One live session per user, and the caps `maxUsers`, `maxTopics`,
 *   `maxSessions`, are checked and changed in one script each.
 * - Signs of life are kept on the session objects this node handed out
 *   (the server also sets `lastSeen` on frames) and written coarsely: by
 *   `touch` and by each `sweep`, once a session's `lastSeen` is
 *   `min(sessionTtlMs / 16, 60 s)` past what Redis has. Another node may so
 *   see a session as idle up to that much early.
 * - Sessions ended by another node (replaced by a login there, closed,
 *   expired) are announced to `onSessionEnded` through pub/sub, so the node
 *   holding the socket can close it at once.
 * - Counts (`stats`) are those of the last script this node ran (a lookup
 *   runs none).
 *
 * Names are compared as Redis does, byte by byte in UTF-8; for names of the
 * name rule (ASCII) that is JavaScript's order.
 *
 * @module
 */

import { newSid, type Session } from "../core/sessions.ts";
import type { RedisReply } from "../redis/resp.ts";
import type { RedisScript } from "../redis/script.ts";
import type {
  CreateTopicResult,
  Directory,
  DirectoryOptions,
  DirectoryStats,
  NamePage,
  OpenSessionResult,
  PageQuery,
} from "./directory.ts";
import {
  CLOSE_SESSION,
  CREATE_TOPIC,
  DELETE_TOPIC,
  DIRECTORY_SCRIPTS,
  JOIN,
  KEEPALIVE,
  LOOKUP,
  MEMBERS,
  OPEN_SESSION,
  QUIT,
  REGISTER,
  SWEEP_SESSIONS,
} from "./directory_redis_lua.ts";
import {
  DEFAULT_PREFIX,
  num,
  RedisLink,
  type RedisLinkOptions,
  unavailable,
} from "./redis_shared.ts";

/** Why a session ended. */
export type SessionEnd = "replaced" | "closed" | "expired";

/** Options of the Redis directory beyond every engine's. */
export interface RedisDirectoryOptions extends DirectoryOptions {
  /** Prefix of every key and of the channel `<prefix>d:ended`. Default `im:`. */
  readonly prefix?: string;
  /** This node's name, so it is not told of the ends it caused itself. Default random. */
  readonly nodeId?: string;
  /**
   * Told when another node ended a session: a login there replaced it, a
   * logout closed it, or a sweep expired it. The node holding its socket
   * closes it (a replaced one with 4001). Like every wake-up, this is lost
   * while the subscriber is away; a socket's next `session()` check finds
   * the session gone anyway.
   */
  readonly onSessionEnded?: (session: Session, why: SessionEnd) => void;
  /**
   * How far a session's `lastSeen` may run ahead of Redis before `touch`
   * writes it (default: a sixteenth of the session TTL, at most a minute).
   * A node that holds a socket reads it before declaring its user silent,
   * so keep it well under the heartbeat's client timeout.
   */
  readonly persistEveryMs?: number;
}

// Bounded work per script call.
const SWEEP_BUDGET = 2_000;
// Sessions whose signs of life this node tracks, least recently used out first.
const LIVE_CAP = 65_536;

interface Live {
  readonly session: Session;
  // The lastSeen Redis has (as far as this node knows).
  persisted: number;
}

/**
 * Users, sessions and topics in Redis, shared by every node.
 *
 * @example Usage
 * ```ts ignore
 * import { RedisDirectory } from "./directory_redis.ts";
 * const directory = await RedisDirectory.connect("redis://127.0.0.1:6379", {
 *   sessionTtlMs: 86_400_000, maxUsers: 1000, maxTopics: 1000, maxSessions: 1000,
 * });
 * const opened = await directory.openSession("Harry");
 * if (opened.kind === "opened") console.log(await directory.session(opened.session.sid));
 * await directory.close();
 * ```
 */
export class RedisDirectory implements Directory {
  readonly #link: RedisLink;
  readonly #owned: boolean;
  readonly #options: RedisDirectoryOptions;
  readonly #now: () => number;
  readonly #prefix: string;
  readonly #nodeId: string;
  readonly #channel: string;
  readonly #onEnded = (payload: string) => this.#ended(payload);
  readonly #persistEveryMs: number;
  readonly #gcMs: number;
  readonly #live = new Map<string, Live>();
  #keepaliveCursor: Iterator<Live> | undefined;
  #stats: DirectoryStats = { users: 0, sessions: 0, topics: 0 };

  private constructor(link: RedisLink, owned: boolean, options: RedisDirectoryOptions) {
    this.#link = link;
    this.#owned = owned;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#nodeId = options.nodeId ?? crypto.randomUUID();
    this.#channel = `${this.#prefix}d:ended`;
    this.#persistEveryMs = options.persistEveryMs ?? Math.min(options.sessionTtlMs / 16, 60_000);
    this.#gcMs = Math.max(1, Math.ceil(options.sessionTtlMs * 2));
  }

  /**
   * A directory on a shared link (see `openRedisStore`).
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  static async open(link: RedisLink, options: RedisDirectoryOptions): Promise<RedisDirectory> {
    return await RedisDirectory.#start(link, false, options);
  }

  /**
   * A directory on connections of its own, closed with it.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  static connect(
    url: string,
    options: RedisDirectoryOptions & { readonly link?: RedisLinkOptions },
  ): Promise<RedisDirectory> {
    const linkOptions = { prefix: options.prefix, ...options.link };
    return RedisLink.connectFor(
      url,
      linkOptions,
      (link) => RedisDirectory.#start(link, true, options),
    );
  }

  static async #start(link: RedisLink, owned: boolean, options: RedisDirectoryOptions) {
    await link.load(DIRECTORY_SCRIPTS);
    const directory = new RedisDirectory(link, owned, options);
    try {
      if (options.onSessionEnded) {
        await link.subscriber.subscribe(directory.#channel, directory.#onEnded);
      }
      // Expires nothing (no score is below -inf); answers the counts.
      await directory.#run(SWEEP_SESSIONS, ["-inf", 0]);
    } catch (error) {
      link.subscriber.unsubscribe(directory.#channel, directory.#onEnded);
      throw error;
    }
    return directory;
  }

  async openSession(username: string): Promise<OpenSessionResult> {
    const now = this.#now();
    const { maxUsers, maxSessions, sessionTtlMs } = this.#options;
    const sid = newSid();
    const reply = await this.#run(OPEN_SESSION, [
      username,
      sid,
      now,
      now - sessionTtlMs,
      maxUsers,
      maxSessions,
      this.#gcMs,
      SWEEP_BUDGET,
    ]);
    if (reply[0] !== "opened") return { kind: reply[0] as "users_full" | "sessions_full" };
    const { session } = this.#remember({ sid, username, lastSeen: now }, now);
    if (reply.length === 1) return { kind: "opened", session };
    const oldSid = reply[1] as string;
    const replaced = this.#live.get(oldSid)?.session ??
      { sid: oldSid, username, lastSeen: num(reply[2]) };
    this.#live.delete(oldSid);
    return { kind: "opened", session, replaced };
  }

  async session(sid: string): Promise<Session | undefined> {
    const live = this.#live.get(sid);
    const oldest = this.#now() - this.#options.sessionTtlMs;
    const localSeen = live?.session.lastSeen ?? 0;
    // Two plain reads per request, the script only to end an idle session:
    // its EVALSHA and three ZCARDs were a fifth of a cross-node send's commands.
    const keys = [`${this.#prefix}d:sessions`, `${this.#prefix}d:s:${sid}`];
    const [score, username] = await this.#pipeline([["ZSCORE", keys[0], sid], ["GET", keys[1]]]);
    let reply: RedisReply[] = [username, score];
    if (score === null) reply = [];
    else if (username === null || Math.max(num(score), localSeen) <= oldest) {
      reply = await this.#run(LOOKUP, [sid, oldest, localSeen]);
    }
    if (reply.length === 0) {
      this.#live.delete(sid);
      return undefined;
    }
    const seen = num(reply[1]);
    if (live) {
      live.session.lastSeen = Math.max(live.session.lastSeen, seen);
      live.persisted = Math.max(live.persisted, seen);
      return this.#remember(live.session, live.persisted).session;
    }
    return this.#remember({ sid, username: reply[0] as string, lastSeen: seen }, seen).session;
  }

  async replaced(session: Session): Promise<boolean> {
    // The user's current sid (`d:su:`) lives as long as that session.
    const current = await this.#command(["GET", `${this.#prefix}d:su:${session.username}`]);
    return typeof current === "string" && current !== session.sid;
  }

  touch(session: Session): void {
    const now = this.#now();
    session.lastSeen = now;
    // The object handed out for this sid stays the one remembered (a socket holds it).
    const known = this.#live.get(session.sid);
    if (known) known.session.lastSeen = now;
    const live = this.#remember(known?.session ?? session, known?.persisted ?? 0);
    if (now - live.persisted < this.#persistEveryMs) return;
    live.persisted = now;
    // Only a sign of life: a failed write is made up by the next one.
    this.#keepalive([live]).catch(() => {});
  }

  async closeSession(session: Session): Promise<boolean> {
    this.#live.delete(session.sid);
    const reply = await this.#run(CLOSE_SESSION, [session.sid]);
    return num(reply[0]) === 1;
  }

  async register(
    username: string,
    passwordHash: string,
  ): Promise<"registered" | "exists" | "users_full"> {
    const reply = await this.#run(REGISTER, [username, passwordHash, this.#options.maxUsers]);
    return reply[0] as "registered" | "exists" | "users_full";
  }

  async passwordHash(username: string): Promise<string | undefined> {
    const hash = await this.#command(["HGET", `${this.#prefix}d:pw`, username]);
    return typeof hash === "string" ? hash : undefined;
  }

  async hasUser(username: string): Promise<boolean> {
    return await this.#command(["ZSCORE", `${this.#prefix}d:users`, username]) !== null;
  }

  async users(query: PageQuery): Promise<NamePage> {
    const page = await this.#page("d:users", query);
    this.#stats = { ...this.#stats, users: page.total };
    return page;
  }

  async createTopic(topic: string, creator: string): Promise<CreateTopicResult> {
    const reply = await this.#run(CREATE_TOPIC, [topic, creator, this.#options.maxTopics]);
    return reply[0] as CreateTopicResult;
  }

  async deleteTopic(topic: string): Promise<readonly string[] | undefined> {
    const reply = await this.#run(DELETE_TOPIC, [topic]);
    return num(reply[0]) === 1 ? reply.slice(1) as string[] : undefined;
  }

  async join(topic: string, users: readonly string[]): Promise<boolean> {
    return num((await this.#run(JOIN, [topic, ...users]))[0]) === 1;
  }

  async quit(topic: string, user: string): Promise<boolean> {
    return num((await this.#run(QUIT, [topic, user]))[0]) === 1;
  }

  async members(topic: string): Promise<readonly string[] | undefined> {
    const reply = await this.#run(MEMBERS, [topic]);
    return num(reply[0]) === 1 ? reply.slice(1) as string[] : undefined;
  }

  async topics(query: PageQuery): Promise<NamePage> {
    const page = await this.#page("d:topics", query);
    this.#stats = { ...this.#stats, topics: page.total };
    return page;
  }

  async sweep(): Promise<readonly Session[]> {
    await this.#keepalive(this.#due());
    const oldest = this.#now() - this.#options.sessionTtlMs;
    const reply = await this.#run(SWEEP_SESSIONS, [oldest, SWEEP_BUDGET]);
    const expired: Session[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const sid = reply[i] as string;
      const session = this.#live.get(sid)?.session ??
        { sid, username: reply[i + 1] as string, lastSeen: num(reply[i + 2]) };
      this.#live.delete(sid);
      // A session whose keys outlived nobody has no user left to report.
      if (session.username !== "") expired.push(session);
    }
    return expired;
  }

  /** The cluster-wide counts as of the last script this node ran. */
  stats(): DirectoryStats {
    return this.#stats;
  }

  async close(): Promise<void> {
    // Signs of life not yet written would only make sessions expire a little early.
    await this.#keepalive(this.#due(Infinity)).catch(() => {});
    this.#live.clear();
    this.#link.subscriber.unsubscribe(this.#channel, this.#onEnded);
    if (this.#owned) await this.#link.close();
  }

  // Tracks `session` as the most recently used one.
  #remember(session: Session, persisted: number): Live {
    const live = { session, persisted };
    this.#live.delete(session.sid);
    this.#live.set(session.sid, live);
    if (this.#live.size > LIVE_CAP) this.#live.delete(this.#live.keys().next().value!);
    return live;
  }

  // Sessions with a sign of life Redis does not have yet, a bounded number per call.
  #due(budget = SWEEP_BUDGET): Live[] {
    const due: Live[] = [];
    for (let looked = 0; looked < Math.min(budget, this.#live.size); looked++) {
      this.#keepaliveCursor ??= this.#live.values();
      const next = this.#keepaliveCursor.next();
      if (next.done) {
        this.#keepaliveCursor = undefined;
        break;
      }
      const live = next.value;
      if (live.session.lastSeen - live.persisted >= this.#persistEveryMs) due.push(live);
    }
    return due;
  }

  async #keepalive(due: readonly Live[]): Promise<void> {
    if (due.length === 0) return;
    const args: (string | number)[] = [this.#gcMs];
    for (const live of due) {
      live.persisted = live.session.lastSeen;
      args.push(live.session.sid, live.session.lastSeen);
    }
    const dead = await this.#run(KEEPALIVE, args);
    for (const sid of dead) this.#live.delete(sid as string);
  }

  async #page(name: string, { after, limit = Infinity }: PageQuery): Promise<NamePage> {
    const key = this.#prefix + name;
    const range = ["ZRANGE", key, after === undefined ? "-" : `(${after}`, "+", "BYLEX"];
    if (limit !== Infinity) range.push("LIMIT", "0", String(limit));
    const [names, total] = await this.#pipeline([range, ["ZCARD", key]]);
    return { names: names as string[], total: num(total) };
  }

  // `node\nwhy\nsid\nuser` from any node; this node's own ends were answered to their callers.
  #ended(payload: string): void {
    const [node, why, sid, username] = payload.split("\n");
    if (node === this.#nodeId) return;
    const session = this.#live.get(sid)?.session ?? { sid, username, lastSeen: 0 };
    this.#live.delete(sid);
    this.#options.onSessionEnded?.(session, why as SessionEnd);
  }

  // Runs a script and keeps the counts that start its reply; answers the rest.
  async #run(
    script: RedisScript,
    args: readonly (string | number)[],
  ): Promise<RedisReply[]> {
    const reply = await this.#link.run(script, [this.#prefix, this.#nodeId, ...args]);
    const [users, sessions, topics] = reply.map(num);
    this.#stats = { users, sessions, topics };
    return reply.slice(3);
  }

  async #command(args: readonly string[]): Promise<RedisReply> {
    try {
      return await this.#link.client.command(args);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async #pipeline(commands: readonly (readonly string[])[]): Promise<RedisReply[]> {
    let replies;
    try {
      replies = await this.#link.client.pipeline(commands);
    } catch (error) {
      throw unavailable(error);
    }
    for (const reply of replies) if (reply instanceof Error) throw unavailable(reply);
    return replies as RedisReply[];
  }
}
