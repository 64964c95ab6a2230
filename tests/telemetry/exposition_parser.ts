/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests:
 * it accepts the canonical form our registry writes and throws on anything a
 * scraper might misread.
 *
 * Stricter than Prometheus itself: no blank lines or free comments, no
 * timestamps, exactly one space before the value, no empty `{}` or trailing
 * comma, and every family opens with `# HELP` then `# TYPE` (counter, gauge
 * or histogram) before its samples, in one uninterrupted group.
 *
 * @module
 */

/** The metric types the parser accepts. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One sample line. */
export interface Sample {
  /** The sample name, e.g. `x_bucket` in histogram `x`. */
  readonly name: string;
  /** Unescaped label values by name. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A family: its `# HELP`, `# TYPE` and samples in exposition order. */
export interface MetricFamily {
  readonly name: string;
  /** Unescaped help text. */
  readonly help: string;
  readonly type: MetricType;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const SAMPLE_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];

type Fail = (why: string) => never;

/**
 * Parses an exposition.
 *
 * @param text The whole exposition, every line ending in a line feed.
 * @returns The families by name, in exposition order.
 * @throws {SyntaxError} Naming the line and the broken rule.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExposition } from "./exposition_parser.ts";
 *
 * const families = parseExposition(
 *   '# HELP up Is it up.\n# TYPE up gauge\nup{job="a \\"b\\""} 1\n',
 * );
 * assert.deepEqual(families.get("up")?.samples, [
 *   { name: "up", labels: { job: 'a "b"' }, value: 1 },
 * ]);
 * assert.throws(() => parseExposition("up 1\n"), SyntaxError);
 * ```
 */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  if (text === "") return families;
  if (!text.endsWith("\n")) throw new SyntaxError("the exposition must end with a line feed");
  let current: MetricFamily | undefined;
  let help: { name: string; text: string } | undefined;
  const seriesKeys = new Set<string>();
  for (const [index, line] of text.slice(0, -1).split("\n").entries()) {
    const fail: Fail = (why) => {
      throw new SyntaxError(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") fail("empty line");
    if (help !== undefined && !line.startsWith("# TYPE ")) fail("# HELP not followed by # TYPE");
    if (line.startsWith("# HELP ")) {
      const [, name, escaped] = /^# HELP (\S+) (.*)$/.exec(line) ?? fail("malformed # HELP");
      if (!METRIC_NAME.test(name)) fail("invalid metric name");
      if (families.has(name)) fail(`family ${name} appears twice`);
      if (current?.type === "histogram") checkHistogram(current);
      help = { name, text: unescapeHelp(escaped, fail) };
    } else if (line.startsWith("# TYPE ")) {
      const [, name, type] = /^# TYPE (\S+) (\S+)$/.exec(line) ?? fail("malformed # TYPE");
      if (help?.name !== name) fail("# TYPE not right after its family's # HELP");
      if (type !== "counter" && type !== "gauge" && type !== "histogram") {
        fail(`unsupported type ${type}`);
      }
      current = { name, help: help.text, type: type as MetricType, samples: [] };
      families.set(name, current);
      help = undefined;
    } else if (line.startsWith("#")) {
      fail("only # HELP and # TYPE comments are allowed");
    } else {
      const sample = parseSample(line, fail);
      if (current === undefined) fail("sample before any # HELP and # TYPE");
      if (!belongsTo(sample.name, current)) {
        fail(`sample ${sample.name} is outside its family's group (in ${current.name})`);
      }
      if (current.type === "counter" && !(sample.value >= 0)) fail("counter value below zero");
      const key = sample.name + JSON.stringify(Object.entries(sample.labels).sort());
      if (seriesKeys.has(key)) fail("series repeated");
      seriesKeys.add(key);
      current.samples.push(sample);
    }
  }
  if (help !== undefined) throw new SyntaxError(`family ${help.name} has # HELP but no # TYPE`);
  if (current?.type === "histogram") checkHistogram(current);
  return families;
}

/**
 * Finds a sample's value.
 *
 * @param families What {@linkcode parseExposition} returned.
 * @param name The sample name, e.g. `im_store_commit_seconds_count`.
 * @param labels All of the sample's labels, exactly.
 * @returns The value, or `undefined` when there is no such sample.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExposition, sampleValue } from "./exposition_parser.ts";
 *
 * const families = parseExposition('# HELP a_total A.\n# TYPE a_total counter\na_total{k="v"} 2\n');
 * assert.equal(sampleValue(families, "a_total", { k: "v" }), 2);
 * assert.equal(sampleValue(families, "a_total"), undefined);
 * ```
 */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted) {
        return sample.value;
      }
    }
  }
  return undefined;
}

function belongsTo(sampleName: string, family: MetricFamily): boolean {
  if (family.type !== "histogram") return sampleName === family.name;
  return HISTOGRAM_SUFFIXES.some((suffix) => sampleName === family.name + suffix);
}

function parseSample(line: string, fail: Fail): Sample {
  SAMPLE_NAME.lastIndex = 0;
  const name = SAMPLE_NAME.exec(line)?.[0] ?? fail("a sample must start with a metric name");
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      LABEL_NAME.lastIndex = i;
      const label = LABEL_NAME.exec(line)?.[0] ?? fail(`expected a label name at column ${i + 1}`);
      if (label.startsWith("__")) fail(`reserved label name ${label}`);
      if (Object.hasOwn(labels, label)) fail(`label ${label} repeated`);
      i += label.length;
      if (line.slice(i, i + 2) !== '="') fail(`expected =" after label ${label}`);
      i += 2;
      let value = "";
      for (;;) {
        const char = line[i];
        if (char === undefined) fail(`unterminated value of label ${label}`);
        i++;
        if (char === '"') break;
        if (char !== "\\") {
          value += char;
          continue;
        }
        const escaped = line[i++];
        if (escaped === "\\" || escaped === '"') value += escaped;
        else if (escaped === "n") value += "\n";
        else fail(`invalid escape \\${escaped ?? ""} in label ${label}`);
      }
      labels[label] = value;
      if (line[i] === "}") break;
      if (line[i] !== ",") fail(`expected , or } after label ${label}`);
      i++;
    }
    i++;
  }
  if (line[i] !== " ") fail("expected one space before the value");
  const valueText = line.slice(i + 1);
  if (!FLOAT.test(valueText)) fail(`invalid value ${JSON.stringify(valueText)}`);
  return { name, labels, value: parseFloatText(valueText) };
}

function parseFloatText(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

function unescapeHelp(text: string, fail: Fail): string {
  return text.replace(/\\(.?)/g, (_, escaped: string) => {
    if (escaped === "\\") return "\\";
    if (escaped === "n") return "\n";
    return fail(`invalid escape \\${escaped} in # HELP`);
  });
}

function checkHistogram(family: MetricFamily): void {
  const fail: Fail = (why) => {
    throw new SyntaxError(`histogram ${family.name}: ${why}`);
  };
  interface Series {
    bounds: number[];
    counts: number[];
    sum?: number;
    count?: number;
  }
  const series = new Map<string, Series>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let entry = series.get(key);
    if (entry === undefined) series.set(key, entry = { bounds: [], counts: [] });
    const where = `${sample.name}${key}`;
    if (sample.name.endsWith("_bucket")) {
      if (le === undefined) fail(`${where} has no le label`);
      if (!FLOAT.test(le)) fail(`${where} has le="${le}", not a number`);
      if (entry.sum !== undefined || entry.count !== undefined) {
        fail(`${where}: buckets must come before _sum and _count`);
      }
      const bound = parseFloatText(le);
      if (entry.bounds.length > 0 && !(bound > entry.bounds.at(-1)!)) {
        fail(`${where}: le=${le} does not increase`);
      }
      if (!Number.isInteger(sample.value) || sample.value < 0) {
        fail(`${where}: bucket count ${sample.value} is not a whole number`);
      }
      if (entry.counts.length > 0 && sample.value < entry.counts.at(-1)!) {
        fail(`${where}: buckets are not cumulative (${sample.value} after ${entry.counts.at(-1)})`);
      }
      entry.bounds.push(bound);
      entry.counts.push(sample.value);
    } else {
      if (le !== undefined) fail(`${where} must not have an le label`);
      if (sample.name.endsWith("_sum")) entry.sum = sample.value;
      else entry.count = sample.value;
    }
  }
  let firstBounds: string | undefined;
  for (const [key, entry] of series) {
    if (entry.bounds.at(-1) !== Infinity) fail(`${key} does not end with le="+Inf"`);
    if (entry.sum === undefined) fail(`${key} has no _sum`);
    if (entry.count === undefined) fail(`${key} has no _count`);
    if (entry.count !== entry.counts.at(-1)) {
      fail(`${key}: _count ${entry.count} differs from le="+Inf" ${entry.counts.at(-1)}`);
    }
    const bounds = JSON.stringify(entry.bounds.slice(0, -1));
    firstBounds ??= bounds;
    if (bounds !== firstBounds) fail(`${key} has buckets ${bounds}, others ${firstBounds}`);
  }
}
