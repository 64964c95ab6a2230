/**
 * Charges each sample of a `perf record -g` of the server to the JavaScript
 * function it ran under: the first frame of its call chain that V8's perf
 * map names (`--server-v8-flags=--perf-basic-prof`). The deno binary ships
 * without symbols, so a plain `perf report` shows a third of the server's
 * CPU as bare addresses; walked up to their JS caller, V8's builtins, the
 * runtime's ops and the collector's work on behalf of an allocation are
 * counted where the JavaScript asked for them. Samples with no JS frame at
 * all are the runtime on its own: the event loop, HTTP and WebSocket I/O,
 * the kernel under them.
 *
 * ```sh
 * deno run --allow-run=perf --allow-read bench/perf_callers.ts /tmp/server.data [--top 40]
 * ```
 *
 * @module
 */

/** One frame of a sample's call chain, innermost first. */
export interface Frame {
  readonly symbol: string;
  /** The object the code lives in: a path, `[kernel.kallsyms]`, or V8's `/tmp/perf-<pid>.map`. */
  readonly dso: string;
}

/** Samples counted by where they landed and by the JS function they ran under. */
export interface Attribution {
  readonly samples: number;
  /** By the innermost frame's object: `kernel`, `JIT`, `deno`, `libc.so.6`, …. */
  readonly byObject: ReadonlyMap<string, number>;
  /** By JS caller; samples without one under {@linkcode NO_JS_CALLER}. */
  readonly byCaller: ReadonlyMap<string, number>;
}

/** The caller of samples whose chain holds no JavaScript frame. */
export const NO_JS_CALLER = "(runtime: no JS caller)";

const FRAME = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$/;

/**
 * Splits `perf script -F tid,ip,sym,dso` output into samples, each a call
 * chain innermost first.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePerfScript } from "./perf_callers.ts";
 * const text = "41 \n\t ffffffff8207d864 tcp_write_xmit ([kernel.kallsyms])\n\t 10aba4 __send (/usr/lib/libc.so.6)\n";
 * assert.deepEqual(parsePerfScript(text), [[
 *   { symbol: "tcp_write_xmit", dso: "[kernel.kallsyms]" },
 *   { symbol: "__send", dso: "/usr/lib/libc.so.6" },
 * ]]);
 * ```
 */
export function parsePerfScript(text: string): Frame[][] {
  const samples: Frame[][] = [];
  let current: Frame[] | undefined;
  for (const line of text.split("\n")) {
    const frame = FRAME.exec(line);
    if (frame) {
      current?.push({ symbol: frame[1], dso: frame[2] });
    } else if (line.trim() !== "") {
      // A sample's header line (its thread id) starts the next chain.
      current = [];
      samples.push(current);
    }
  }
  return samples.filter((chain) => chain.length > 0);
}

/**
 * Counts `samples` by the object of their innermost frame and by their JS
 * caller (`#append store/mailbox_memory.ts:57:10`: the function, then its
 * file from `lib/` or `ext:` on, as V8's map names it).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { attribute, NO_JS_CALLER } from "./perf_callers.ts";
 * const js = { symbol: "JS:*'offer file:///srv/lib/realtime/connection.ts:144:12", dso: "/tmp/perf-7.map" };
 * const native = { symbol: "[unknown]", dso: "/usr/lib/node_modules/deno/deno" };
 * const kernel = { symbol: "tcp_sendmsg", dso: "[kernel.kallsyms]" };
 * const result = attribute([[native, js], [kernel, native]]);
 * assert.equal(result.samples, 2);
 * assert.equal(result.byObject.get("deno"), 1);
 * assert.equal(result.byCaller.get("offer realtime/connection.ts:144:12"), 1);
 * assert.equal(result.byCaller.get(NO_JS_CALLER), 1);
 * ```
 */
export function attribute(samples: readonly (readonly Frame[])[]): Attribution {
  const byObject = new Map<string, number>();
  const byCaller = new Map<string, number>();
  for (const chain of samples) {
    bump(byObject, objectName(chain[0].dso));
    const js = chain.find((frame) => isJit(frame.dso));
    bump(byCaller, js ? callerName(js.symbol) : NO_JS_CALLER);
  }
  return { samples: samples.length, byObject, byCaller };
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function isJit(dso: string): boolean {
  return /\/perf-\d+\.map$/.test(dso);
}

function objectName(dso: string): string {
  if (dso === "[kernel.kallsyms]") return "kernel";
  if (isJit(dso)) return "JIT";
  return dso.split("/").pop() || dso;
}

// V8 names code "JS:<tier marker>'<function> <url>:<line>:<column>", or a
// regular expression's source; keep the function and the file's tail.
function callerName(symbol: string): string {
  return symbol
    .replace(/^JS:[*+~^]?'?/, "")
    .replace(/file:\/\/\S*?\/lib\//, "")
    .replace(/file:\/\/\S*\//, "")
    .replace(/\bext:/, "")
    .trim() || "(anonymous)";
}

function top(counts: ReadonlyMap<string, number>, n: number): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n);
}

if (import.meta.main) {
  const [file, ...rest] = Deno.args;
  const at = rest.indexOf("--top");
  const n = at >= 0 ? Number(rest[at + 1]) : 40;
  if (!file || !(n > 0)) {
    console.error("usage: perf_callers.ts <perf.data> [--top N]");
    Deno.exit(2);
  }
  const { stdout, success } = await new Deno.Command("perf", {
    args: ["script", "-i", file, "-F", "tid,ip,sym,dso"],
    stderr: "null",
  }).output();
  if (!success) {
    console.error(`perf script could not read ${file}`);
    Deno.exit(1);
  }
  const result = attribute(parsePerfScript(new TextDecoder().decode(stdout)));
  const share = (count: number) => `${(100 * count / result.samples).toFixed(1).padStart(5)} %`;
  const objects = top(result.byObject, 10).map(([name, count]) => `${name} ${share(count).trim()}`);
  console.log(`${result.samples} samples; innermost frame in: ${objects.join(", ")}`);
  for (const [name, count] of top(result.byCaller, n)) {
    console.log(`${String(count).padStart(7)}  ${share(count)}  ${name}`);
  }
}
