/**
 * Hand-run cost figures for the hot-path metric calls, kept out of the test
 * suite because timings depend on the machine:
 *
 * ```sh
 * deno run tests/telemetry/bench_metrics.ts
 * ```
 *
 * Each figure is the median of 7 rounds, in nanoseconds per call, including
 * the loop itself (shown as "empty loop" for comparison). The expose() time
 * is a single first call, so it includes compiling the code.
 *
 * @module
 */

import { Registry } from "../../lib/telemetry/metrics.ts";

const CALLS = 20_000_000;
const ROUNDS = 7;

function nsPerCall(run: (calls: number) => void, calls = CALLS): number {
  run(calls / 10);
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    run(calls);
    rounds.push((performance.now() - start) * 1e6 / calls);
  }
  return rounds.sort((a, b) => a - b)[ROUNDS >> 1];
}

const registry = new Registry();
const counter = registry.counter("bench_total", "Bench counter.");
const child = registry.counter("bench_labelled_total", "Bench family.", {
  labelNames: ["kind"],
});
const direct = child.labels("direct");
const histogram = registry.histogram("bench_seconds", "Bench histogram.");
// Log-uniform over 10 µs … 100 s, so observations land across all 16 buckets.
const values = Float64Array.from({ length: 1024 }, (_, i) => 10 ** ((i / 1024) * 7 - 5));
let sink = 0;

const figures: [string, number][] = [
  [
    "empty loop reading a value",
    nsPerCall((calls) => {
      let sum = 0;
      for (let i = 0; i < calls; i++) sum += values[i & 1023];
      sink += sum;
    }),
  ],
  [
    "counter.inc()",
    nsPerCall((calls) => {
      for (let i = 0; i < calls; i++) counter.inc();
    }),
  ],
  [
    "kept family child .inc()",
    nsPerCall((calls) => {
      for (let i = 0; i < calls; i++) direct.inc();
    }),
  ],
  [
    "family.labels(v).inc() per call",
    nsPerCall((calls) => {
      for (let i = 0; i < calls; i++) child.labels("direct").inc();
    }, CALLS / 20),
  ],
  [
    "histogram.observe(v), 15 buckets",
    nsPerCall((calls) => {
      for (let i = 0; i < calls; i++) histogram.observe(values[i & 1023]);
    }),
  ],
];
for (const [what, ns] of figures) console.log(`${what.padEnd(36)} ${ns.toFixed(2)} ns`);

const start = performance.now();
const text = registry.expose();
console.log(
  `first expose() of ${text.split("\n").length - 1} lines: ${
    (performance.now() - start).toFixed(3)
  } ms`,
);
console.log(`(checksum ${counter.value + direct.value + histogram.count + sink > 0})`);
