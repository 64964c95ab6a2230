/**
 * The Prometheus text exposition format, version 0.0.4: how numbers, text
 * and sample lines are written.
 *
 * @module
 */

import type { LabelledReading } from "./family.ts";
import type { Histogram } from "./histogram.ts";

/**
 * The `Content-Type` of an exposition: the text format 0.0.4, exactly as
 * the contract names it (the format is UTF-8 by definition).
 *
 * @example Serving a scrape
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";
 *
 * const response = new Response("up 1\n", {
 *   headers: { "content-type": EXPOSITION_CONTENT_TYPE },
 * });
 * assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4");
 * ```
 */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4";

/**
 * Writes a sample value or a bucket bound as Prometheus reads it.
 *
 * JavaScript's shortest round-trip form is already a valid Prometheus float,
 * except for the three special values and for integers of 10²¹ and more,
 * which `String` would put in exponent form although every digit is known.
 *
 * @param value The number to write.
 * @returns Its text form: `+Inf`, `-Inf`, `NaN` or a decimal number.
 *
 * @example Special values and integers
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./exposition.ts";
 *
 * assert.equal(formatValue(Infinity), "+Inf");
 * assert.equal(formatValue(-Infinity), "-Inf");
 * assert.equal(formatValue(NaN), "NaN");
 * assert.equal(formatValue(42), "42");
 * assert.equal(formatValue(1e21), "1000000000000000000000");
 * assert.equal(formatValue(0.0001), "0.0001");
 * ```
 */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  if (Number.isInteger(value) && Math.abs(value) >= 1e21) return BigInt(value).toString();
  return String(value);
}

/**
 * Escapes a label value for use between double quotes.
 *
 * @param value The raw label value.
 * @returns The value with `\`, `"` and line feeds escaped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeLabelValue } from "./exposition.ts";
 *
 * assert.equal(escapeLabelValue('a "b"\\c\n'), 'a \\"b\\"\\\\c\\n');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => char === "\n" ? "\\n" : "\\" + char);
}

/**
 * Escapes the text of a `# HELP` line. Unlike label values, double quotes
 * stay as they are.
 *
 * @param text The raw help text.
 * @returns The text with `\` and line feeds escaped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHelp } from "./exposition.ts";
 *
 * assert.equal(escapeHelp('C:\\ "x"\ny'), 'C:\\\\ "x"\\ny');
 * ```
 */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (char) => char === "\n" ? "\\n" : "\\\\");
}

/**
 * Writes label pairs as they go between a sample's braces.
 *
 * @param names The label names, already validated.
 * @param values One raw value per name.
 * @returns `name="value"` pairs joined by commas; empty for no labels.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderLabels } from "./exposition.ts";
 *
 * assert.equal(renderLabels(["route", "status"], ["/a", "200"]), 'route="/a",status="200"');
 * assert.equal(renderLabels([], []), "");
 * ```
 */
export function renderLabels(names: readonly string[], values: readonly string[]): string {
  let text = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) text += ",";
    text += `${names[i]}="${escapeLabelValue(values[i])}"`;
  }
  return text;
}

/**
 * Writes one sample line, without its line feed.
 *
 * @param name The sample's name.
 * @param labels Rendered label pairs (see {@linkcode renderLabels}), or empty.
 * @param value The sample's value.
 * @returns `name{labels} value`, or `name value` without labels.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSample } from "./exposition.ts";
 *
 * assert.equal(formatSample("up", "", 1), "up 1");
 * assert.equal(formatSample("hits_total", 'code="200"', 3), 'hits_total{code="200"} 3');
 * ```
 */
export function formatSample(name: string, labels: string, value: number): string {
  return labels === ""
    ? `${name} ${formatValue(value)}`
    : `${name}{${labels}} ${formatValue(value)}`;
}

/**
 * Writes one histogram's samples: cumulative `_bucket` lines in increasing
 * `le` order up to `+Inf`, then `_sum` and `_count`.
 *
 * @param out Lines are appended here, without line feeds.
 * @param name The family name.
 * @param labels Rendered label pairs (see {@linkcode renderLabels}), or empty.
 * @param histogram The histogram to write.
 * @param les The `le` text of each bound, then `+Inf`, formatted once by the
 * caller rather than on every scrape.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeHistogram } from "./exposition.ts";
 * import { Histogram } from "./histogram.ts";
 *
 * const histogram = new Histogram({ buckets: [1] });
 * histogram.observe(0.5);
 * const out: string[] = [];
 * writeHistogram(out, "wait_seconds", 'queue="a"', histogram, ["1", "+Inf"]);
 * assert.deepEqual(out, [
 *   'wait_seconds_bucket{queue="a",le="1"} 1',
 *   'wait_seconds_bucket{queue="a",le="+Inf"} 1',
 *   'wait_seconds_sum{queue="a"} 0.5',
 *   'wait_seconds_count{queue="a"} 1',
 * ]);
 * ```
 */
export function writeHistogram(
  out: string[],
  name: string,
  labels: string,
  histogram: Histogram,
  les: readonly string[],
): void {
  const prefix = labels === "" ? "" : labels + ",";
  // One snapshot for buckets and count keeps `le="+Inf"` equal to `_count`.
  const cumulative = histogram.cumulativeCounts();
  for (let i = 0; i < cumulative.length; i++) {
    out.push(`${name}_bucket{${prefix}le="${les[i]}"} ${formatValue(cumulative[i])}`);
  }
  out.push(formatSample(`${name}_sum`, labels, histogram.sum));
  out.push(formatSample(`${name}_count`, labels, cumulative[cumulative.length - 1]));
}

/**
 * Writes the samples of a labelled metric read from a callback, refusing
 * readings that would make the exposition invalid.
 *
 * @param out Lines are appended here, without line feeds.
 * @param name The family name.
 * @param labelNames The family's label names.
 * @param readings Pairs of label values and value.
 * @throws {TypeError} If a reading has the wrong number of label values.
 * @throws {Error} If two readings have the same label values.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeReadings } from "./exposition.ts";
 *
 * const out: string[] = [];
 * writeReadings(out, "im_sockets", ["state"], [[["open"], 3]]);
 * assert.deepEqual(out, ['im_sockets{state="open"} 3']);
 * assert.throws(() => writeReadings([], "im_sockets", ["state"], [[["a"], 1], [["a"], 2]]));
 * ```
 */
export function writeReadings(
  out: string[],
  name: string,
  labelNames: readonly string[],
  readings: Iterable<LabelledReading<readonly string[]>>,
): void {
  const seen = new Set<string>();
  for (const [values, value] of readings) {
    if (values.length !== labelNames.length) {
      throw new TypeError(
        `${name} read ${values.length} label values for ${labelNames.length} names`,
      );
    }
    const labels = renderLabels(labelNames, values);
    // Escaping is one-to-one, so equal rendered text means equal values.
    if (seen.has(labels)) throw new Error(`${name} read {${labels}} twice`);
    seen.add(labels);
    out.push(formatSample(name, labels, value));
  }
}
