/**
 * A labelled metric family: one child metric per combination of label values.
 *
 * @module
 */

import { assertLabelNames } from "./names.ts";

/**
 * One string per label name, in the same order.
 *
 * @typeParam L The label names.
 */
export type LabelValues<L extends readonly string[]> = { readonly [K in keyof L]: string };

/** Declares a labelled family. */
export interface LabelOptions<L extends readonly string[]> {
  /** The label names, in the order `labels(...)` and collected readings give values. */
  labelNames: L;
}

/**
 * One reading of a labelled collected metric.
 *
 * @typeParam L The label names.
 */
export type LabelledReading<L extends readonly string[]> = readonly [LabelValues<L>, number];

/**
 * Children of one metric, keyed by label values. Look a child up once with
 * {@linkcode Family.labels} and keep it: the hot path then updates the child
 * directly, with no lookup or allocation.
 *
 * @typeParam T The child metric type.
 * @typeParam L The label names.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Counter } from "./counter.ts";
 * import { Family } from "./family.ts";
 *
 * const accepted = new Family(["kind"] as const, () => new Counter());
 * const direct = accepted.labels("direct");
 * direct.inc();
 * direct.inc();
 * assert.equal(accepted.labels("direct"), direct);
 * assert.deepEqual([...accepted.children()].map(([values, c]) => [values, c.value]), [
 *   [["direct"], 2],
 * ]);
 * ```
 */
export class Family<T, L extends readonly string[] = readonly string[]> {
  /** The label names, in the order {@linkcode Family.labels} takes values. */
  readonly labelNames: L;
  readonly #create: () => T;
  readonly #children = new Map<string, readonly [LabelValues<L>, T]>();

  /**
   * @param labelNames The label names.
   * @param create Makes the metric for a new combination of values.
   * @throws {TypeError} If the label names break Prometheus's rules.
   */
  constructor(labelNames: L, create: () => T) {
    assertLabelNames(labelNames);
    this.labelNames = Object.freeze([...labelNames]) as unknown as L;
    this.#create = create;
  }

  /**
   * The child for these label values, made on first use.
   *
   * @param values One value per label name.
   * @returns The same child every time for the same values.
   * @throws {TypeError} If the count of values does not match the names.
   */
  labels(...values: LabelValues<L>): T {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(
        `Expected ${this.labelNames.length} label values (${this.labelNames}), got ${values.length}`,
      );
    }
    for (const value of values) {
      if (typeof value !== "string") throw new TypeError(`Label value ${value} is not a string`);
    }
    // JSON keeps the key unambiguous whatever characters the values hold.
    const key = JSON.stringify(values);
    let entry = this.#children.get(key);
    if (entry === undefined) {
      entry = [Object.freeze([...values]) as unknown as LabelValues<L>, this.#create()];
      this.#children.set(key, entry);
    }
    return entry[1];
  }

  /**
   * The children made so far, oldest first.
   *
   * @returns Pairs of label values and child.
   */
  children(): IterableIterator<readonly [LabelValues<L>, T]> {
    return this.#children.values();
  }
}
