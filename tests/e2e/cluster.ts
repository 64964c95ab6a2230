/**
 * A cluster for end-to-end tests: a real `redis-server` on a free port and
 * several real server processes (`main.ts --redis-url …`) sharing it.
 *
 * @module
 */

import { RedisServer } from "../redis/redis_server.ts";
import { type ServerFlags, TestServer } from "./harness.ts";

/** Options of {@linkcode TestCluster.start}. */
export interface ClusterOptions {
  /** How many nodes (default 2). */
  nodes?: number;
  /** Flags for every node. */
  flags?: ServerFlags;
  /** Persist Redis to disk (appendonly, fsync always), so a Redis restart keeps the data. */
  durable?: boolean;
  /** The nodes reach Redis through its Unix socket (`unix://…`) instead of TCP. */
  unixSocket?: boolean;
}

/** Redis and the nodes; disposing stops them all. */
export class TestCluster {
  readonly redis: RedisServer;
  readonly nodes: TestServer[];
  readonly #dir: string | undefined;
  readonly #flags: ServerFlags;

  private constructor(redis: RedisServer, nodes: TestServer[], flags: ServerFlags, dir?: string) {
    this.redis = redis;
    this.nodes = nodes;
    this.#flags = flags;
    this.#dir = dir;
  }

  /** Starts Redis, then the nodes (named node-0, node-1, …). */
  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const dir = options.durable ? await Deno.makeTempDir({ prefix: "huayi-redis-" }) : undefined;
    const args = dir ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir] : [];
    const redis = await RedisServer.start({ args, unixSocket: options.unixSocket });
    const url = options.unixSocket ? redis.unixUrl : redis.url;
    const flags = { ...options.flags, "redis-url": url };
    const nodes = await Promise.all(
      Array.from(
        { length: options.nodes ?? 2 },
        (_, i) => TestServer.start({ ...flags, "node-id": `node-${i}` }),
      ),
    );
    return new TestCluster(redis, nodes, flags, dir);
  }

  /** Starts one more node (after a kill, say). */
  async addNode(name: string): Promise<TestServer> {
    const node = await TestServer.start({ ...this.#flags, "node-id": name });
    this.nodes.push(node);
    return node;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await this.redis[Symbol.asyncDispose]();
    if (this.#dir) await Deno.remove(this.#dir, { recursive: true });
  }
}
