/**
 * Runs README.md's "Try it in five minutes" the way a newcomer pastes it, so
 * the walkthrough cannot rot.
 *
 * The part between `<!-- readme-test: walkthrough … -->` and
 * `<!-- readme-test: end -->` is read as a list of fenced blocks:
 *
 * - the `sh` block after `<!-- readme-test: server -->` is the server's
 *   command (`deno task start …`): the test runs it itself, with `--port 0`
 *   appended, since the newcomer runs it in a terminal of its own;
 * - every other `sh` block is pasted, in order, into one bash process (with
 *   `set -euo pipefail`, and a `wait` at the end for background listeners),
 *   the next block once what the last one shows has appeared; then the same
 *   in dash, so nothing is bash-only;
 * - a `text` block shows what the block before it prints: each of its lines
 *   must appear in the output, `…` standing for anything.
 *
 * The only rewrite is the address: the README's `127.0.0.1:8080` becomes the
 * server's real one, in the `HUAYI=` line and in the expected lines.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const README = new URL("README.md", ROOT);
const ADDRESS = "127.0.0.1:8080";
const HUAYI_LINE = `HUAYI=http://${ADDRESS}`;
// Per block; the whole walkthrough takes a few seconds.
const BLOCK_TIMEOUT_MS = 10_000;

/** One fenced `sh` block of the walkthrough and the lines shown after it. */
interface Block {
  readonly server: boolean;
  readonly code: string;
  readonly expected: readonly string[];
}

/** The walkthrough's blocks, in order; throws when the markers or fences are off. */
function walkthrough(markdown: string): Block[] {
  const start = markdown.indexOf("<!-- readme-test: walkthrough");
  const end = markdown.indexOf("<!-- readme-test: end -->");
  if (start === -1 || end < start) throw new Error("README: walkthrough markers not found");
  const lines = markdown.slice(start, end).split("\n");
  const blocks: { server: boolean; code: string; expected: string[] }[] = [];
  let serverNext = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "<!-- readme-test: server -->") serverNext = true;
    const fence = line.match(/^```(\S*)\s*$/);
    if (!fence) continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
    if (i === lines.length) throw new Error(`README: unclosed \`\`\`${fence[1]} block`);
    if (fence[1] === "sh") {
      blocks.push({ server: serverNext, code: body.join("\n"), expected: [] });
      serverNext = false;
    } else if (fence[1] === "text") {
      const last = blocks.at(-1);
      if (!last) throw new Error("README: a text block before any sh block");
      last.expected.push(...body.filter((text) => text.trim() !== ""));
    } else {
      // Anything else would be skipped silently: refuse it instead.
      throw new Error(`README: a \`\`\`${fence[1]} block in the walkthrough (sh or text only)`);
    }
  }
  return blocks;
}

/** A pattern for an expected line: literal text, `…` for anything on the line. */
function linePattern(expected: string): RegExp {
  const parts = expected.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return new RegExp(parts.join("[^\\n]*?"), "g");
}

/** The expected lines that do not occur (as often as they are expected) in `output`. */
function missingLines(expected: readonly string[], output: string): string[] {
  const wanted = new Map<string, number>();
  for (const line of expected) wanted.set(line, (wanted.get(line) ?? 0) + 1);
  const missing: string[] = [];
  for (const [line, times] of wanted) {
    const found = output.match(linePattern(line))?.length ?? 0;
    if (found < times) missing.push(`${line}   (${found} of ${times})`);
  }
  return missing;
}

Deno.test("readme test helpers: expected lines with … match any text, counted", () => {
  assert.deepEqual(missingLines(['{"id":"…","sent-at":…}'], '{"id":"x-1","sent-at":17}\n'), []);
  assert.equal(missingLines(["done", "done"], "done\n").length, 1);
  assert.equal(missingLines(["a…c"], "a\nc").length, 1, "… stays on one line");
  assert.deepEqual(missingLines(["(x)"], "(x)"), [], "regex characters are literal");
});

Deno.test("README walkthrough: the server block first, then shell blocks that each show their output", async () => {
  const blocks = walkthrough(await Deno.readTextFile(README));
  assert.ok(blocks[0].server, "the first block starts the server");
  assert.equal(blocks.filter((block) => block.server).length, 1);
  assert.match(blocks[0].code, /^deno task start [^\n]*--host 127\.0\.0\.1/);
  assert.ok(blocks.length >= 5, `${blocks.length} blocks`);
  for (const block of blocks) {
    assert.ok(block.expected.length > 0, `nothing shown after:\n${block.code}`);
  }
  const script = blocks.filter((block) => !block.server).map((block) => block.code).join("\n");
  assert.equal(script.split(HUAYI_LINE).length, 2, `exactly one ${HUAYI_LINE} line`);
  assert.ok(!/localhost|0\.0\.0\.0/.test(script), "the examples stay on 127.0.0.1");
});

Deno.test("README: Protocol in one page sets $SID before using it, and names its socket tool", async () => {
  const markdown = await Deno.readTextFile(README);
  const section = markdown.slice(markdown.indexOf("## Protocol in one page"));
  const code = section.slice(
    section.indexOf("```sh\n"),
    section.indexOf("\n```\n", section.indexOf("```sh\n")),
  );
  const set = code.search(/^SID=\$\(/m);
  assert.ok(set !== -1 && set < code.indexOf("$SID"), "SID= before the first $SID");
  assert.match(code, /deno task listen/);
});

// bash as the README's shell; dash too, so nothing in the blocks is bash-only
// (zsh, the other shell the README names, is not installed here).
const SHELLS = [
  { shell: "bash", strict: "set -euo pipefail" },
  { shell: "dash", strict: "set -eu" },
];

for (const { shell: program, strict } of SHELLS) {
  Deno.test({
    name: `README walkthrough in ${program}: pasted block by block, everything it shows happens`,
    ignore: !(await which(program)),
    fn: () => pasteWalkthrough(program, strict),
  });
}

async function pasteWalkthrough(program: string, strict: string): Promise<void> {
  const blocks = walkthrough(await Deno.readTextFile(README));
  const [serverBlock, ...shellBlocks] = blocks;
  const server = await startServer(serverBlock.code.trim().split(/\s+/).slice(1));
  const bin = await Deno.makeTempDir({ prefix: "readme-test-" });
  try {
    const address = new URL(server.url).host;
    const atServer = (text: string) => text.replaceAll(ADDRESS, address);
    assert.deepEqual(missingLines(serverBlock.expected.map(atServer), server.stdout), []);

    // `deno` in the blocks is the Deno running this test.
    await Deno.symlink(Deno.execPath(), `${bin}/deno`);
    await using shell = new Shell(program, {
      PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      NO_COLOR: "1",
    });
    shell.type(strict);
    // Block by block, as a newcomer pastes them: the next one only once
    // everything shown so far has appeared, so Ron's socket is open before
    // Harry sends and the frames arrive live, not from the mailbox.
    const shown: string[] = [];
    for (const [i, block] of shellBlocks.entries()) {
      const code = block.code.replace(HUAYI_LINE, `HUAYI=${server.url}`);
      shell.type(code);
      shown.push(...block.expected.map(atServer));
      const missing = await shell.until(() => missingLines(shown, shell.output));
      assert.deepEqual(missing, [], `after block ${i + 1}:\n${code}\n${shell.report(server.log)}`);
    }
    const status = await shell.end();
    assert.equal(status.code, 0, shell.report(server.log));
    assert.ok(!shell.output.includes('{"error"'), shell.report(server.log));
  } finally {
    await Deno.remove(bin, { recursive: true });
    const status = await server.stop();
    assert.equal(status.code, 0, "SIGTERM to deno task stops the server, exit 0");
  }
}

interface Server {
  url: string;
  stdout: string;
  log: string[];
  stop(): Promise<Deno.CommandStatus>;
}

/** Runs `deno <args> --port 0` in the repository and waits for its `listening on` line. */
async function startServer(args: string[]): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, "--port", "0"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log.push(text);
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!/listening on (http:\/\/\S+)\n/.test(stdout)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server did not start:\n${log.join("")}`);
    stdout += value;
  }
  (async () => {
    while (!(await reader.read()).done);
  })();
  return {
    url: stdout.match(/listening on (http:\/\/\S+)/)![1],
    stdout,
    log,
    stop: async () => {
      child.kill("SIGTERM");
      return await child.status;
    },
  };
}

/**
 * One shell process fed block by block on its stdin, in a session of its own
 * with stdout and stderr merged (as a terminal shows them); disposing of it
 * kills the whole group, so a background listener never outlives the test.
 */
class Shell {
  output = "";
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #done: Promise<void>;
  #exited = false;

  constructor(program: string, env: Record<string, string>) {
    const child = new Deno.Command("setsid", {
      args: [program, "-c", `exec 2>&1; exec ${program} -s`],
      cwd: ROOT,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#done = (async () => {
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        this.output += text;
      }
    })();
    child.status.then(() => this.#exited = true);
  }

  /** Pastes a block. */
  type(code: string): void {
    this.#stdin.write(new TextEncoder().encode(code + "\n")).catch(() => {});
  }

  /** Waits until `missing()` is empty, the shell exits, or the deadline passes; returns the last `missing()`. */
  async until(missing: () => string[], timeoutMs = BLOCK_TIMEOUT_MS): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let left = missing();
    while (left.length > 0 && !this.#exited && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      left = missing();
    }
    return left;
  }

  /** Types `wait` (for background jobs), closes stdin and waits for the exit. */
  async end(): Promise<Deno.CommandStatus> {
    this.type("wait");
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => this.#kill(), BLOCK_TIMEOUT_MS);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#done;
    return status;
  }

  /** What the shell printed and what the server logged, for a failure message. */
  report(serverLog: readonly string[]): string {
    return `--- shell output:\n${this.output}\n--- server log:\n${serverLog.join("")}`;
  }

  #kill(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) this.#kill();
    await this.#child.status;
    await this.#done;
  }
}

async function which(command: string): Promise<boolean> {
  const output = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  return output?.success ?? false;
}
