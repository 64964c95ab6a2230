/**
 * Starts the real server (`main.ts`) as a child process on a free port, and
 * talks to it with real `fetch` and `WebSocket` clients.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Short timings so heartbeat and expiry tests finish in seconds. */
export type ServerFlags = Record<string, string | number>;

/** How to run the process, besides its flags and environment. */
export interface ProcessOptions {
  /** A soft limit on open files (`ulimit -n`), to reach exhaustion quickly. */
  fileLimit?: number;
}

/**
 * With `HUAYI_TEST_CLUSTER=N` in the environment, every {@linkcode TestServer}
 * is a cluster of N nodes on its own redis-server, and the test clients
 * (`client.ts`) spread each test's users over the nodes: the v1 suite run as
 * it is proves a cluster behaves as one server.
 */
const CLUSTER_NODES = Number(Deno.env.get("HUAYI_TEST_CLUSTER") ?? "0");

/** With `HUAYI_TEST_STORE=memory`, servers use that store unless a test names one. */
const STORE = Deno.env.get("HUAYI_TEST_STORE");

/** A server child process (or, in cluster mode, the nodes of a cluster). */
export class TestServer {
  /** The first node's address. */
  readonly url: string;
  readonly wsUrl: string;
  /** Every node's address (one, unless in cluster mode). */
  readonly urls: readonly string[];
  readonly #children: Deno.ChildProcess[];
  readonly #stderr: string[];
  readonly #cleanUp: () => Promise<void>;
  /** The data directory the (first) server was given, created for it unless the test named one. */
  readonly dataDir: string;

  private constructor(
    children: Deno.ChildProcess[],
    urls: string[],
    stderr: string[],
    dataDir: string,
    cleanUp: () => Promise<void>,
  ) {
    this.#children = children;
    this.urls = urls;
    this.url = urls[0];
    this.wsUrl = this.url.replace(/^http/, "ws");
    this.#stderr = stderr;
    this.dataDir = dataDir;
    this.#cleanUp = cleanUp;
  }

  /**
   * Starts `deno run main.ts --host 127.0.0.1 --port 0 ...flags` and waits
   * for its `listening on` line.
   */
  static async start(
    flags: ServerFlags = {},
    env: Record<string, string> = {},
    process: ProcessOptions = {},
  ): Promise<TestServer> {
    const stderr: string[] = [];
    if (CLUSTER_NODES < 2 || "redis-url" in flags) {
      // A data directory of its own, so tests never share a SQLite store.
      const given = flags["data-dir"];
      const dataDir = given === undefined
        ? await Deno.makeTempDir({ prefix: "huayi-test-" })
        : String(given);
      const store: ServerFlags = STORE === undefined ? {} : { store: STORE };
      const { child, url } = await spawn(
        { ...store, ...flags, "data-dir": dataDir },
        env,
        process,
        stderr,
      );
      const cleanUp = given === undefined
        ? () => Deno.remove(dataDir, { recursive: true }).catch(() => {})
        : () => Promise.resolve();
      return new TestServer([child], [url], stderr, dataDir, cleanUp);
    }
    // Imported here so single-node runs never load the Redis helpers.
    const { RedisServer } = await import("../redis/redis_server.ts");
    const redis = await RedisServer.start();
    const nodes = await Promise.all(
      Array.from(
        { length: CLUSTER_NODES },
        (_, i) =>
          spawn({ ...flags, "redis-url": redis.url, "node-id": `node-${i}` }, env, process, stderr),
      ),
    );
    return new TestServer(
      nodes.map((node) => node.child),
      nodes.map((node) => node.url),
      stderr,
      "",
      () => redis.kill9(),
    );
  }

  /** The (first) server's process id. */
  get pid(): number {
    return this.#children[0].pid;
  }

  /** The (first) server's resident memory now, in bytes (Linux). */
  async rss(): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.pid}/status`);
    return Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]) * 1024;
  }

  /** Lines the server (every node) has written to stderr so far. */
  get log(): readonly string[] {
    return this.#stderr;
  }

  /** Sends a signal to every node, waits for them to exit, and returns the first's status. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    for (const child of this.#children) {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
    }
    const statuses = await Promise.all(this.#children.map((child) => child.status));
    await this.#cleanUp();
    return statuses[0];
  }

  /** The (first) server's exit status, once it ends. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#children[0].status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

async function spawn(
  flags: ServerFlags,
  env: Record<string, string>,
  process: ProcessOptions,
  stderr: string[],
): Promise<{ child: Deno.ChildProcess; url: string }> {
  const args = [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write",
    MAIN,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ];
  for (const [name, value] of Object.entries(flags)) args.push(`--${name}`, String(value));
  // `exec` keeps the pid the server's own, so signals reach it.
  const command = process.fileLimit === undefined ? { program: Deno.execPath(), args } : {
    program: "bash",
    args: ["-c", `ulimit -n ${process.fileLimit} && exec "$0" "$@"`, Deno.execPath(), ...args],
  };
  const child = new Deno.Command(command.program, {
    args: command.args,
    env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  collectLines(child.stderr, stderr);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`server exited before listening:\n${stderr.join("\n")}`);
    seen += value;
    const match = seen.match(/listening on (http:\/\/\S+)/);
    if (match) {
      // Keep draining stdout so the child never blocks on a full pipe.
      (async () => {
        while (!(await lines.read()).done);
      })();
      return { child, url: match[1] };
    }
  }
}

/**
 * Runs `main.ts` to completion with the given arguments (for start-up errors).
 * It may write files only when asked (`write`), so a stray default data
 * directory cannot appear in the working tree.
 */
export async function runMain(
  args: string[],
  env: Record<string, string> = {},
  options: { write?: boolean } = {},
) {
  const permissions = ["--allow-net", "--allow-env", "--allow-read"];
  if (options.write) permissions.push("--allow-write");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MAIN, ...args],
    env,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

async function collectLines(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    into.push(...parts);
  }
  if (rest) into.push(rest);
}
