/**
 * Prometheus's naming rules for metrics and labels.
 *
 * @module
 */

// Colons are valid in the format but reserved for recording rules, so
// instrumentation must not use them.
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks a metric name, and that a counter's name ends in `_total`.
 *
 * @param name The name to check.
 * @param type The metric type.
 * @throws {TypeError} If the name breaks the rules.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertMetricName } from "./names.ts";
 *
 * assertMetricName("im_connections_open", "gauge");
 * assert.throws(() => assertMetricName("im_connections_accepted", "counter"), TypeError);
 * assert.throws(() => assertMetricName("im-open", "gauge"), TypeError);
 * ```
 */
export function assertMetricName(name: string, type: "counter" | "gauge" | "histogram"): void {
  if (!METRIC_NAME.test(name)) throw new TypeError(`Invalid metric name ${JSON.stringify(name)}`);
  if (type === "counter" && !name.endsWith("_total")) {
    throw new TypeError(`Counter name ${name} must end in "_total"`);
  }
}

/**
 * Checks label names.
 *
 * @param labelNames The names to check.
 * @throws {TypeError} If a name is malformed, starts with the reserved `__`
 * prefix or appears twice.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertLabelNames } from "./names.ts";
 *
 * assertLabelNames(["route", "status"]);
 * assert.throws(() => assertLabelNames(["__name__"]), TypeError);
 * assert.throws(() => assertLabelNames(["a", "a"]), TypeError);
 * ```
 */
export function assertLabelNames(labelNames: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of labelNames) {
    if (!LABEL_NAME.test(name)) throw new TypeError(`Invalid label name ${JSON.stringify(name)}`);
    if (name.startsWith("__")) {
      throw new TypeError(`Label name ${JSON.stringify(name)} uses the reserved "__" prefix`);
    }
    if (seen.has(name)) throw new TypeError(`Label name ${JSON.stringify(name)} appears twice`);
    seen.add(name);
  }
}
