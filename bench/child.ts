/**
 * Child processes of the benchmark, pinned to a CPU with `taskset` when the
 * machine has it, so the server's figures are per one core, and run at a
 * lower priority with `nice` when asked (generators that share cores with
 * the servers they measure).
 *
 * @module
 */

const has = (command: string, args: string[]) => {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
};
const HAS_TASKSET = has("taskset", ["-V"]);
const HAS_NICE = has("nice", ["true"]);

/** How to start a child. */
export interface SpawnOptions {
  /** The CPU to pin it to (`undefined`: whichever core the scheduler picks). */
  cpu?: number;
  /** Its niceness (0 to 19; 0, the default, is the parent's priority). */
  nice?: number;
}

/**
 * The command line that starts `argv` as `options` say: `nice -n N` and
 * `taskset -c CPU` in front, each only when asked for and on the machine.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandLine } from "./child.ts";
 * assert.deepEqual(commandLine({}, ["deno", "run", "x.ts"]), ["deno", "run", "x.ts"]);
 * const line = commandLine({ cpu: 1, nice: 5 }, ["deno"]);
 * assert.equal(line.at(-1), "deno");
 * ```
 */
export function commandLine(options: SpawnOptions, argv: string[]): string[] {
  const pinned = HAS_TASKSET && options.cpu !== undefined
    ? ["taskset", "-c", String(options.cpu), ...argv]
    : argv;
  return HAS_NICE && options.nice ? ["nice", "-n", String(options.nice), ...pinned] : pinned;
}

const live = new Set<Child>();

/** A running child: its pid, its stdout lines, and how to stop it. */
export class Child {
  readonly pid: number;
  readonly #process: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;

  private constructor(process: Deno.ChildProcess, pipeStdin: boolean) {
    this.#process = process;
    this.pid = process.pid;
    this.#lines = process.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
      .getReader();
    this.#stdin = pipeStdin ? process.stdin.getWriter() : undefined;
  }

  /**
   * Starts `deno run <denoFlags> script ...args` where and as `where` says
   * (see {@linkcode commandLine}).
   *
   * @param stdin Whether to keep a pipe to the child's stdin (for `send`).
   * @param denoFlags Permissions and other flags for `deno run` (e.g. `--cpu-prof`).
   * @param env Environment variables added to the inherited ones.
   */
  static spawn(
    where: SpawnOptions,
    script: string,
    args: string[],
    stdin = false,
    denoFlags: string[] = ["-A"],
    env?: Record<string, string>,
  ): Child {
    const deno = [Deno.execPath(), "run", ...denoFlags, script, ...args];
    const [command, ...rest] = commandLine(where, deno);
    const process = new Deno.Command(command, {
      args: rest,
      env,
      stdout: "piped",
      stderr: "null",
      stdin: stdin ? "piped" : "null",
    }).spawn();
    const child = new Child(process, stdin);
    live.add(child);
    process.status.then(() => live.delete(child));
    return child;
  }

  /** Kills every child still running (for Ctrl-C: a killed parent does not take them along). */
  static killAll(): void {
    for (const child of live) child.kill();
  }

  /** Whether children are pinned (false when `taskset` is missing). */
  static get pinned(): boolean {
    return HAS_TASKSET;
  }

  /** Reads stdout lines until one matches, and returns its match. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      while (true) {
        const { value, done } = await this.#lines.read();
        if (done) throw new Error(`child exited before printing ${pattern}`);
        const match = value.match(pattern);
        if (match) return match;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes one line to the child's stdin. */
  async send(line: string): Promise<void> {
    await this.#stdin?.write(new TextEncoder().encode(line + "\n"));
  }

  /**
   * Sends SIGTERM (then SIGKILL after `graceMs`), waits for exit, and returns
   * how it ended (`signal` is `SIGKILL` when the grace ran out).
   */
  async stop(graceMs = 5000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    const status = await this.#process.status;
    clearTimeout(timer);
    await this.#stdin?.close().catch(() => {});
    await this.#lines.cancel().catch(() => {});
    return status;
  }

  /** Sends a signal, ignoring a child that is already gone. */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.#process.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (rest) controller.enqueue(rest);
    },
  });
}
