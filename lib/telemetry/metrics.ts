/**
 * A small Prometheus metrics registry and its text exposition.
 *
 * Metrics are either updated as things happen ({@linkcode Counter},
 * {@linkcode Gauge}, {@linkcode Histogram}, each optionally in a labelled
 * {@linkcode Family}), or collected: read from a callback at scrape time, so
 * that a number the server already keeps costs nothing per message.
 *
 * @module
 */

import { Counter } from "./counter.ts";
import { Family, type LabelledReading, type LabelOptions } from "./family.ts";
import {
  escapeHelp,
  formatSample,
  formatValue,
  renderLabels,
  writeHistogram,
  writeReadings,
} from "./exposition.ts";
import { Gauge } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import { assertLabelNames, assertMetricName } from "./names.ts";

export { Counter } from "./counter.ts";
export { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";
export { Family, type LabelledReading, type LabelOptions, type LabelValues } from "./family.ts";
export { Gauge } from "./gauge.ts";
export { DEFAULT_BUCKETS, Histogram, type HistogramOptions } from "./histogram.ts";

/** Declares a labelled histogram family. */
export interface HistogramFamilyOptions<L extends readonly string[]>
  extends HistogramOptions, LabelOptions<L> {}

type MetricType = "counter" | "gauge" | "histogram";

interface Entry {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly write: (out: string[]) => void;
}

// Only the implementation signatures use it: the public ones spell it out.
type Names = readonly string[];

/**
 * Holds metric families in registration order and writes them out for a
 * scrape.
 *
 * Registration validates names (Prometheus's rules, `_total` on counters,
 * no `le` label on histograms) and throws on a name already taken, including
 * a histogram's `_bucket`, `_sum` and `_count` samples. Each kind of metric
 * registers unlabelled, or with `{ labelNames }` as a {@linkcode Family}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const accepted = registry.counter("im_messages_accepted_total", "Messages accepted.", {
 *   labelNames: ["kind"],
 * });
 * const direct = accepted.labels("direct");
 * direct.inc();
 * registry.gaugeFunc("im_connections_open", "Open sockets.", () => 2);
 * assert.equal(
 *   registry.expose(),
 *   [
 *     "# HELP im_messages_accepted_total Messages accepted.",
 *     "# TYPE im_messages_accepted_total counter",
 *     'im_messages_accepted_total{kind="direct"} 1',
 *     "# HELP im_connections_open Open sockets.",
 *     "# TYPE im_connections_open gauge",
 *     "im_connections_open 2",
 *     "",
 *   ].join("\n"),
 * );
 * assert.throws(() => registry.gauge("im_connections_open", "Again."), Error);
 * ```
 */
export class Registry {
  readonly #entries: Entry[] = [];
  readonly #taken = new Set<string>();

  /**
   * Registers a counter.
   *
   * @param name The metric name, ending in `_total`.
   * @param help What it counts.
   * @returns The counter.
   *
   * @example Unlabelled and labelled
   * ```ts
   * import assert from "node:assert/strict";
   * import { Registry } from "./metrics.ts";
   *
   * const registry = new Registry();
   * registry.counter("im_messages_delivered_total", "Frames written.").inc(3);
   * const closes = registry.counter("im_socket_closes_total", "Closes by code.", {
   *   labelNames: ["code"],
   * });
   * closes.labels("1000").inc();
   * const text = registry.expose();
   * assert.match(text, /^im_messages_delivered_total 3$/m);
   * assert.match(text, /^im_socket_closes_total\{code="1000"\} 1$/m);
   * assert.throws(() => registry.counter("im_delivered", "No _total."), TypeError);
   * ```
   */
  counter(name: string, help: string): Counter;
  /**
   * Registers a labelled counter family.
   *
   * @param options The label names.
   */
  counter<const L extends readonly string[]>(
    name: string,
    help: string,
    options: LabelOptions<L>,
  ): Family<Counter, L>;
  counter(name: string, help: string, options?: LabelOptions<Names>): Counter | Family<Counter> {
    return this.#make("counter", name, help, options?.labelNames, () => new Counter(), writeValue);
  }

  /**
   * Registers a gauge.
   *
   * @param name The metric name.
   * @param help What it measures.
   * @returns The gauge.
   *
   * @example Unlabelled and labelled
   * ```ts
   * import assert from "node:assert/strict";
   * import { Registry } from "./metrics.ts";
   *
   * const registry = new Registry();
   * registry.gauge("im_connections_open", "Open sockets.").inc();
   * const queued = registry.gauge("im_queued_frames", "Frames waiting.", {
   *   labelNames: ["queue"],
   * });
   * queued.labels("outbox").set(4);
   * const text = registry.expose();
   * assert.match(text, /^im_connections_open 1$/m);
   * assert.match(text, /^im_queued_frames\{queue="outbox"\} 4$/m);
   * ```
   */
  gauge(name: string, help: string): Gauge;
  /**
   * Registers a labelled gauge family.
   *
   * @param options The label names.
   */
  gauge<const L extends readonly string[]>(
    name: string,
    help: string,
    options: LabelOptions<L>,
  ): Family<Gauge, L>;
  gauge(name: string, help: string, options?: LabelOptions<Names>): Gauge | Family<Gauge> {
    return this.#make("gauge", name, help, options?.labelNames, () => new Gauge(), writeValue);
  }

  /**
   * Registers a histogram.
   *
   * @param name The metric name, in a base unit such as `_seconds`.
   * @param help What it measures.
   * @param options The bucket bounds; Centrifugo-like 0.0001 … 10 by default.
   * @returns The histogram.
   *
   * @example Unlabelled and labelled
   * ```ts
   * import assert from "node:assert/strict";
   * import { Registry } from "./metrics.ts";
   *
   * const registry = new Registry();
   * const commit = registry.histogram("im_store_commit_seconds", "Commit time.", {
   *   buckets: [0.001, 0.01],
   * });
   * commit.observe(0.002);
   * const command = registry.histogram("im_redis_command_seconds", "Redis time.", {
   *   labelNames: ["command"],
   * });
   * command.labels("GET").observe(0.5);
   * const text = registry.expose();
   * assert.match(text, /^im_store_commit_seconds_bucket\{le="0.001"\} 0$/m);
   * assert.match(text, /^im_store_commit_seconds_bucket\{le="0.01"\} 1$/m);
   * assert.match(text, /^im_store_commit_seconds_bucket\{le="\+Inf"\} 1$/m);
   * assert.match(text, /^im_store_commit_seconds_count 1$/m);
   * assert.match(text, /^im_redis_command_seconds_bucket\{command="GET",le="0.5"\} 1$/m);
   * ```
   */
  histogram(name: string, help: string, options?: HistogramOptions): Histogram;
  /**
   * Registers a labelled histogram family; every child has the same buckets.
   *
   * @param options The label names (not `le`) and the bucket bounds.
   */
  histogram<const L extends readonly string[]>(
    name: string,
    help: string,
    options: HistogramFamilyOptions<L>,
  ): Family<Histogram, L>;
  histogram(
    name: string,
    help: string,
    options: Partial<HistogramFamilyOptions<Names>> = {},
  ): Histogram | Family<Histogram> {
    // Validates the bounds, and copies them so the caller's array may change.
    const buckets = new Histogram({ buckets: options.buckets }).buckets;
    const les = [...buckets.map(formatValue), "+Inf"];
    return this.#make(
      "histogram",
      name,
      help,
      options.labelNames,
      () => new Histogram({ buckets }),
      (out, _, labels, histogram) => writeHistogram(out, name, labels, histogram, les),
    );
  }

  /**
   * Registers a counter whose value is read at scrape time.
   *
   * @param name The metric name, ending in `_total`.
   * @param help What it counts.
   * @param read Returns the count; called once per {@linkcode Registry.expose}.
   *
   * @example Unlabelled and labelled
   * ```ts
   * import assert from "node:assert/strict";
   * import { Registry } from "./metrics.ts";
   *
   * let accepted = 0;
   * const byReason = new Map([["rate", 2], ["size", 1]]);
   * const registry = new Registry();
   * registry.counterFunc("im_connections_accepted_total", "Sockets accepted.", () => accepted);
   * registry.counterFunc(
   *   "im_refusals_total",
   *   "Requests refused.",
   *   () => [...byReason].map(([reason, n]) => [[reason], n] as const),
   *   { labelNames: ["reason"] },
   * );
   * accepted = 5;
   * const text = registry.expose();
   * assert.match(text, /^im_connections_accepted_total 5$/m);
   * assert.match(text, /^im_refusals_total\{reason="size"\} 1$/m);
   * ```
   */
  counterFunc(name: string, help: string, read: () => number): void;
  /**
   * Registers a labelled counter family whose values are read at scrape time.
   *
   * @param options The label names.
   */
  counterFunc<const L extends readonly string[]>(
    name: string,
    help: string,
    read: () => Iterable<LabelledReading<L>>,
    options: LabelOptions<L>,
  ): void;
  counterFunc(
    name: string,
    help: string,
    read: () => number | Iterable<LabelledReading<Names>>,
    options?: LabelOptions<Names>,
  ): void {
    this.#collected("counter", name, help, read, options?.labelNames);
  }

  /**
   * Registers a gauge whose value is read at scrape time.
   *
   * @param name The metric name.
   * @param help What it measures.
   * @param read Returns the value; called once per {@linkcode Registry.expose}.
   *
   * @example Unlabelled and labelled
   * ```ts
   * import assert from "node:assert/strict";
   * import { Registry } from "./metrics.ts";
   *
   * const mailbox = new Map([["ann", []]]);
   * const registry = new Registry();
   * registry.gaugeFunc("im_mailbox_entries", "Stored frames.", () => mailbox.size);
   * registry.gaugeFunc("im_sockets", "Sockets by state.", () => [[["open"], 3], [["closing"], 1]], {
   *   labelNames: ["state"],
   * });
   * const text = registry.expose();
   * assert.match(text, /^im_mailbox_entries 1$/m);
   * assert.match(text, /^im_sockets\{state="closing"\} 1$/m);
   * ```
   */
  gaugeFunc(name: string, help: string, read: () => number): void;
  /**
   * Registers a labelled gauge family whose values are read at scrape time.
   *
   * @param options The label names.
   */
  gaugeFunc<const L extends readonly string[]>(
    name: string,
    help: string,
    read: () => Iterable<LabelledReading<L>>,
    options: LabelOptions<L>,
  ): void;
  gaugeFunc(
    name: string,
    help: string,
    read: () => number | Iterable<LabelledReading<Names>>,
    options?: LabelOptions<Names>,
  ): void {
    this.#collected("gauge", name, help, read, options?.labelNames);
  }

  /**
   * Writes every family in the text exposition format: `# HELP`, `# TYPE`,
   * then the family's samples, family after family in registration order.
   * Collected metrics are read now; if a callback throws, so does this.
   *
   * @returns The exposition, one line feed after each line; empty for no
   * families.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Registry } from "./metrics.ts";
   *
   * const registry = new Registry();
   * assert.equal(registry.expose(), "");
   * registry.gauge("temperature_celsius", "Line one\nline two.").set(-Infinity);
   * assert.equal(
   *   registry.expose(),
   *   "# HELP temperature_celsius Line one\\nline two.\n" +
   *     "# TYPE temperature_celsius gauge\n" +
   *     "temperature_celsius -Inf\n",
   * );
   * ```
   */
  expose(): string {
    const out: string[] = [];
    for (const entry of this.#entries) {
      out.push(
        `# HELP ${entry.name} ${escapeHelp(entry.help)}`,
        `# TYPE ${entry.name} ${entry.type}`,
      );
      entry.write(out);
    }
    return out.length === 0 ? "" : out.join("\n") + "\n";
  }

  #make<T>(
    type: MetricType,
    name: string,
    help: string,
    labelNames: Names | undefined,
    create: () => T,
    write: (out: string[], name: string, labels: string, metric: T) => void,
  ): T | Family<T> {
    if (labelNames === undefined) {
      const metric = create();
      this.#add(type, name, help, [], (out) => write(out, name, "", metric));
      return metric;
    }
    const family = new Family(labelNames, create);
    this.#add(type, name, help, labelNames, (out) => {
      for (const [values, metric] of family.children()) {
        write(out, name, renderLabels(family.labelNames, values), metric);
      }
    });
    return family;
  }

  #collected(
    type: "counter" | "gauge",
    name: string,
    help: string,
    read: () => number | Iterable<LabelledReading<Names>>,
    labelNames: Names | undefined,
  ): void {
    if (labelNames === undefined) {
      this.#add(type, name, help, [], (out) => out.push(formatSample(name, "", read() as number)));
      return;
    }
    const names = Object.freeze([...labelNames]);
    this.#add(type, name, help, names, (out) => {
      writeReadings(out, name, names, read() as Iterable<LabelledReading<Names>>);
    });
  }

  #add(
    type: MetricType,
    name: string,
    help: string,
    labelNames: Names,
    write: (out: string[]) => void,
  ): void {
    assertMetricName(name, type);
    if (typeof help !== "string" || help === "") {
      throw new TypeError(`Metric ${name} needs help text`);
    }
    assertLabelNames(labelNames);
    if (type === "histogram" && labelNames.includes("le")) {
      throw new TypeError(`Histogram ${name} cannot have an "le" label: its buckets use it`);
    }
    const samples = type === "histogram"
      ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]
      : [name];
    for (const sample of samples) {
      if (this.#taken.has(sample)) throw new Error(`Metric name ${sample} is already registered`);
    }
    for (const sample of samples) this.#taken.add(sample);
    this.#entries.push({ name, help, type, write });
  }
}

function writeValue(out: string[], name: string, labels: string, metric: Counter | Gauge): void {
  out.push(formatSample(name, labels, metric.value));
}
