import assert from "node:assert/strict";
import { attribute, NO_JS_CALLER, parsePerfScript } from "../../bench/perf_callers.ts";

// Four samples as `perf script -F tid,ip,sym,dso` prints them for a server
// run with --perf-basic-prof (shortened chains, real symbols).
const SCRIPT = `29670 
\t         1b9328b [unknown] (/usr/lib/node_modules/deno/deno)
\t    7f3b5fdcb39c JS:*'#append file:///work/main/lib/store/mailbox_memory.ts:57:10 (/tmp/perf-29670.map)
\t    7f3b5fdcb0e7 JS:*'handle file:///work/main/lib/http/routes.ts:171:15 (/tmp/perf-29670.map)
\t         1b91042 [unknown] (/usr/lib/node_modules/deno/deno)

29670 
\tffffffff8207d864 tcp_write_xmit ([kernel.kallsyms])
\tffffffff81e762fd __sys_sendto ([kernel.kallsyms])
\t          10aba4 __send (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t         1df0e9a [unknown] (/usr/lib/node_modules/deno/deno)

29670 
\t    7f3b5fd00010 JS:*' file:///work/main/lib/http/api.ts:33:10 (/tmp/perf-29670.map)

29670 
\t           2a1b0 _int_free (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t    7f3b5fd00020 JS:*'send ext:deno_websocket/01_websocket.js:1:8468 (/tmp/perf-29670.map)
`;

Deno.test("bench perf callers: each sample is one chain, innermost frame first", () => {
  const samples = parsePerfScript(SCRIPT);
  assert.deepEqual(samples.map((chain) => chain.length), [4, 4, 1, 2]);
  assert.deepEqual(samples[1][0], { symbol: "tcp_write_xmit", dso: "[kernel.kallsyms]" });
  assert.equal(samples[0][1].dso, "/tmp/perf-29670.map");
});

Deno.test("bench perf callers: native work is charged to the innermost JS frame above it", () => {
  const result = attribute(parsePerfScript(SCRIPT));
  assert.equal(result.samples, 4);
  assert.deepEqual(Object.fromEntries(result.byObject), {
    deno: 1,
    kernel: 1,
    JIT: 1,
    "libc.so.6": 1,
  });
  assert.deepEqual(Object.fromEntries(result.byCaller), {
    "#append store/mailbox_memory.ts:57:10": 1,
    [NO_JS_CALLER]: 1,
    "http/api.ts:33:10": 1,
    "send deno_websocket/01_websocket.js:1:8468": 1,
  });
});

Deno.test("bench perf callers: no samples, no counts", () => {
  assert.deepEqual(parsePerfScript(""), []);
  const result = attribute([]);
  assert.equal(result.samples, 0);
  assert.equal(result.byCaller.size, 0);
});
