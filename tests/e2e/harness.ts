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

/** A server child process. */
export class TestServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly #child: Deno.ChildProcess;
  readonly #stderr: string[];
  #status: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess, url: string, stderr: string[]) {
    this.#child = child;
    this.url = url;
    this.wsUrl = url.replace(/^http/, "ws");
    this.#stderr = stderr;
    this.#status = child.status;
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
    const args = [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
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
    })
      .spawn();
    const stderr: string[] = [];
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
        return new TestServer(child, match[1], stderr);
      }
    }
  }

  /** The server's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The server's resident memory now, in bytes (Linux). */
  async rss(): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.#child.pid}/status`);
    return Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]) * 1024;
  }

  /** Lines the server has written to stderr so far. */
  get log(): readonly string[] {
    return this.#stderr;
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
    return await this.#status;
  }

  /** The exit status, once the process ends. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Runs `main.ts` to completion with the given arguments (for start-up errors).
 */
export async function runMain(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", MAIN, ...args],
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
