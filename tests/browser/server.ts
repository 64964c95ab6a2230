/**
 * Runs the real server (`main.ts`) as a child process for the browser tests,
 * on a free port or on a given one (to restart it where clients expect it).
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A server child process. */
export class ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  readonly log: string[];

  private constructor(
    child: Deno.ChildProcess,
    url: string,
    drained: Promise<void>,
    log: string[],
  ) {
    this.#child = child;
    this.url = url;
    this.port = Number(new URL(url).port);
    this.#drained = drained;
    this.log = log;
  }

  /** Starts `main.ts` on 127.0.0.1 and waits for its `listening on` line. */
  static async start(port = 0, flags: Record<string, number> = {}): Promise<ServerProcess> {
    const args = ["run", "--allow-all", MAIN, "--host", "127.0.0.1", "--port", String(port)];
    for (const [name, value] of Object.entries(flags)) args.push(`--${name}`, String(value));
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    const stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.push(chunk);
    })();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (true) {
      const { value, done } = await lines.read();
      if (done) {
        await stderrDone;
        await child.status;
        throw new Error(`server exited before listening:\n${log.join("")}`);
      }
      seen += value;
      const url = seen.match(/listening on (http:\/\/\S+)/)?.[1];
      if (url) {
        const stdoutDone = (async () => {
          while (!(await lines.read()).done);
        })();
        return new ServerProcess(child, url, Promise.all([stdoutDone, stderrDone]).then(), log);
      }
    }
  }

  /** Stops the server with SIGTERM and waits for it to exit; returns its exit code. */
  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const killer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    const { code } = await this.#child.status;
    clearTimeout(killer);
    await this.#drained;
    return code;
  }
}
