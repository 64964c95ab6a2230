/**
 * The small part of PromQL that `docs/grafana.json` uses, parsed and
 * evaluated over a handful of scrapes of `GET /metrics`: vector selectors
 * with label matchers, range selectors, `rate`, `increase`,
 * `histogram_quantile`, and `sum`/`max`/`min`/`avg` with `by`. Anything
 * else is a `SyntaxError`, so a dashboard query the screenshot could not
 * render fails its test instead of drawing something else.
 *
 * Where it differs from Prometheus, on purpose: `rate` and `increase` take
 * the difference between the first and the last sample in the window and do
 * not extrapolate to the window's edges (with a few seconds of scrapes in a
 * one-minute window, Prometheus' extrapolation would mostly measure the
 * empty part of the window). `histogram_quantile` is Prometheus' own
 * interpolation.
 *
 * @module
 */

/** One sample of a scrape, its target labels (`instance`, `job`) included. */
export interface ScrapedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One scrape: when it was taken (ms since the epoch) and its samples. */
export interface Scrape {
  readonly at: number;
  readonly samples: readonly ScrapedSample[];
}

/** A label matcher in a selector. */
export interface Matcher {
  readonly label: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

/** A parsed expression of the subset. */
export type Expr =
  | { readonly kind: "number"; readonly value: number }
  | {
    readonly kind: "selector";
    readonly name: string;
    readonly matchers: readonly Matcher[];
    /** The range in ms, for `name{...}[5m]`. */
    readonly rangeMs?: number;
  }
  | { readonly kind: "call"; readonly fn: FunctionName; readonly args: readonly Expr[] }
  | {
    readonly kind: "aggregate";
    readonly op: AggregateOp;
    readonly by: readonly string[] | undefined;
    readonly arg: Expr;
  };

/** The functions of the subset. */
export type FunctionName = "rate" | "increase" | "histogram_quantile";
/** The aggregation operators of the subset. */
export type AggregateOp = "sum" | "max" | "min" | "avg";

/** One element of an instant vector: labels (no `__name__`) and a value. */
export interface VectorSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const FUNCTIONS: readonly FunctionName[] = ["rate", "increase", "histogram_quantile"];
const AGGREGATES: readonly AggregateOp[] = ["sum", "max", "min", "avg"];
const UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
// How far back an instant selector looks for a sample: Prometheus' default.
const LOOKBACK_MS = 5 * 60_000;

type Token =
  | { kind: "ident"; text: string }
  | { kind: "number"; value: number }
  | { kind: "string"; text: string }
  | { kind: "duration"; ms: number }
  | { kind: "punct"; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} at column ${i + 1} of ${JSON.stringify(source)}`);
  };
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const duration = /^\[(\d+)(ms|s|m|h|d)\]/.exec(rest);
    if (duration) {
      tokens.push({ kind: "duration", ms: Number(duration[1]) * UNITS_MS[duration[2]] });
      i += duration[0].length;
      continue;
    }
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: "ident", text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const number = /^\d+(?:\.\d+)?/.exec(rest);
    if (number) {
      tokens.push({ kind: "number", value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    if (rest[0] === '"') {
      let text = "";
      let j = 1;
      for (;; j++) {
        if (j >= rest.length) fail("unterminated string");
        if (rest[j] === '"') break;
        if (rest[j] === "\\") {
          const escaped = rest[++j];
          // PromQL strings follow Go's escapes; the dashboard only needs these.
          if (escaped === "\\" || escaped === '"') text += escaped;
          else if (escaped === "n") text += "\n";
          else fail(`unsupported escape \\${escaped}`);
        } else {
          text += rest[j];
        }
      }
      tokens.push({ kind: "string", text });
      i += j + 1;
      continue;
    }
    const punct = /^(?:=~|!~|!=|[(){},=])/.exec(rest);
    if (punct) {
      tokens.push({ kind: "punct", text: punct[0] });
      i += punct[0].length;
      continue;
    }
    fail(`unsupported character ${JSON.stringify(rest[0])}`);
  }
  return tokens;
}

/**
 * Parses one expression of the subset.
 *
 * @param source The expression, with Grafana's variables already replaced
 * (see {@linkcode interpolate}).
 * @returns Its syntax tree.
 * @throws {SyntaxError} On anything outside the subset.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePromql } from "./promql.ts";
 *
 * const expr = parsePromql('sum by (kind) (rate(im_messages_accepted_total{job="im"}[1m]))');
 * assert.equal(expr.kind, "aggregate");
 * assert.throws(() => parsePromql("im_a_total / im_b_total"), SyntaxError);
 * ```
 */
export function parsePromql(source: string): Expr {
  const tokens = tokenize(source);
  let at = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} (token ${at + 1}) in ${JSON.stringify(source)}`);
  };
  const peek = () => tokens[at];
  const isPunct = (text: string) => {
    const token = peek();
    return token?.kind === "punct" && token.text === text;
  };
  const expect = (text: string) => {
    if (!isPunct(text)) fail(`expected ${text}`);
    at++;
  };
  const labelList = (): string[] => {
    expect("(");
    const labels: string[] = [];
    while (!isPunct(")")) {
      const token = tokens[at++];
      if (token?.kind !== "ident") fail("expected a label name");
      labels.push((token as { text: string }).text);
      if (!isPunct(")")) expect(",");
    }
    expect(")");
    return labels;
  };
  const expression = (): Expr => {
    const token = tokens[at++];
    if (token === undefined) return fail("unexpected end");
    if (token.kind === "number") return { kind: "number", value: token.value };
    if (token.kind !== "ident") return fail("expected a metric, function or aggregation");
    const name = token.text;
    if ((AGGREGATES as readonly string[]).includes(name)) {
      let by: string[] | undefined;
      if (peek()?.kind === "ident" && (peek() as { text: string }).text === "by") {
        at++;
        by = labelList();
      }
      expect("(");
      const arg = expression();
      expect(")");
      if (peek()?.kind === "ident" && (peek() as { text: string }).text === "by") {
        if (by) fail("by given twice");
        at++;
        by = labelList();
      }
      if (peek()?.kind === "ident") {
        fail(`unsupported modifier ${(peek() as { text: string }).text}`);
      }
      return { kind: "aggregate", op: name as AggregateOp, by, arg };
    }
    if (isPunct("(")) {
      if (!(FUNCTIONS as readonly string[]).includes(name)) fail(`unsupported function ${name}`);
      at++;
      const args: Expr[] = [];
      while (!isPunct(")")) {
        args.push(expression());
        if (!isPunct(")")) expect(",");
      }
      expect(")");
      return checkCall(name as FunctionName, args, fail);
    }
    const matchers: Matcher[] = [];
    if (isPunct("{")) {
      at++;
      while (!isPunct("}")) {
        const label = tokens[at++];
        if (label?.kind !== "ident") fail("expected a label name");
        const op = tokens[at++];
        if (op?.kind !== "punct" || !["=", "!=", "=~", "!~"].includes(op.text)) {
          fail("expected a matcher operator");
        }
        const value = tokens[at++];
        if (value?.kind !== "string") fail("expected a string");
        matchers.push({
          label: (label as { text: string }).text,
          op: (op as { text: string }).text as Matcher["op"],
          value: (value as { text: string }).text,
        });
        if (!isPunct("}")) expect(",");
      }
      at++;
    }
    const range = peek();
    if (range?.kind === "duration") {
      at++;
      return { kind: "selector", name, matchers, rangeMs: range.ms };
    }
    return { kind: "selector", name, matchers };
  };
  const tree = expression();
  if (at !== tokens.length) fail("unsupported syntax after the expression");
  return tree;
}

function checkCall(fn: FunctionName, args: Expr[], fail: (why: string) => never): Expr {
  if (fn === "histogram_quantile") {
    if (args.length !== 2 || args[0].kind !== "number") {
      fail("histogram_quantile takes a number and a vector");
    }
  } else {
    const [arg] = args;
    if (args.length !== 1 || arg.kind !== "selector" || arg.rangeMs === undefined) {
      fail(`${fn} takes one range selector`);
    }
  }
  return { kind: "call", fn, args };
}

/**
 * Replaces Grafana's `$name` and `${name}` variables, longest names first.
 *
 * @param source A dashboard expression.
 * @param variables Values by name, e.g. `{ instance: ".*", __range: "60s" }`.
 * @returns The expression to run.
 * @throws {Error} When a variable has no value.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { interpolate } from "./promql.ts";
 *
 * assert.equal(interpolate('x{i=~"$instance"}[$__range]', { instance: ".*", __range: "5s" }),
 *   'x{i=~".*"}[5s]');
 * ```
 */
export function interpolate(source: string, variables: Record<string, string>): string {
  return source.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare!;
    if (!Object.hasOwn(variables, name)) throw new Error(`no value for ${whole} in ${source}`);
    return variables[name];
  });
}

/**
 * Every vector selector in an expression, in source order.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePromql, selectors } from "./promql.ts";
 *
 * const found = selectors(parsePromql("sum(rate(a_total[1m]))"));
 * assert.deepEqual(found.map((s) => s.name), ["a_total"]);
 * ```
 */
export function selectors(expr: Expr): Extract<Expr, { kind: "selector" }>[] {
  switch (expr.kind) {
    case "number":
      return [];
    case "selector":
      return [expr];
    case "call":
      return expr.args.flatMap(selectors);
    case "aggregate":
      return selectors(expr.arg);
  }
}

/**
 * Prometheus' `histogram_quantile` over one series' buckets: finds the bucket
 * holding rank `phi × count` and interpolates linearly inside it (from 0 for
 * the first bucket); a rank in the `+Inf` bucket gives the highest finite
 * bound; no observations give NaN.
 *
 * @param phi The quantile, 0 to 1.
 * @param buckets Upper bounds and cumulative counts, in any order; one must be `+Inf`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { bucketQuantile } from "./promql.ts";
 *
 * // 10 observations up to 1 s, 10 more up to 3 s: the 75th percentile is halfway in (1, 3].
 * const buckets = [{ le: 1, count: 10 }, { le: 3, count: 20 }, { le: Infinity, count: 20 }];
 * assert.equal(bucketQuantile(0.75, buckets), 2);
 * assert.equal(bucketQuantile(0.25, buckets), 0.5);
 * assert.ok(Number.isNaN(bucketQuantile(0.5, [{ le: Infinity, count: 0 }])));
 * ```
 */
export function bucketQuantile(
  phi: number,
  buckets: readonly { le: number; count: number }[],
): number {
  if (Number.isNaN(phi)) return NaN;
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted.at(-1)!.le !== Infinity) return NaN;
  // Rates of cumulative counters can come out a hair non-monotonic in
  // floating point; Prometheus evens them out the same way.
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].count < sorted[i - 1].count) {
      sorted[i] = { ...sorted[i], count: sorted[i - 1].count };
    }
  }
  const observations = sorted.at(-1)!.count;
  if (!(observations > 0)) return NaN;
  let rank = phi * observations;
  const b = sorted.findIndex((bucket) => bucket.count >= rank);
  if (b === sorted.length - 1) return sorted[sorted.length - 2].le;
  if (b === 0 && sorted[0].le <= 0) return sorted[0].le;
  let start = 0;
  let count = sorted[b].count;
  if (b > 0) {
    start = sorted[b - 1].le;
    count -= sorted[b - 1].count;
    rank -= sorted[b - 1].count;
  }
  return start + (sorted[b].le - start) * (rank / count);
}

function matches(labels: Readonly<Record<string, string>>, matcher: Matcher): boolean {
  const value = labels[matcher.label] ?? "";
  switch (matcher.op) {
    case "=":
      return value === matcher.value;
    case "!=":
      return value !== matcher.value;
    // PromQL regexes are anchored at both ends.
    case "=~":
      return new RegExp(`^(?:${matcher.value})$`).test(value);
    case "!~":
      return !new RegExp(`^(?:${matcher.value})$`).test(value);
  }
}

function keyOf(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface Point {
  readonly at: number;
  readonly value: number;
}

// The points of each matching series in (at - rangeMs, at], oldest first.
function rangeOf(
  selector: Extract<Expr, { kind: "selector" }>,
  scrapes: readonly Scrape[],
  at: number,
  rangeMs: number,
): Map<string, { labels: Record<string, string>; points: Point[] }> {
  const series = new Map<string, { labels: Record<string, string>; points: Point[] }>();
  for (const scrape of scrapes) {
    if (scrape.at <= at - rangeMs || scrape.at > at) continue;
    for (const sample of scrape.samples) {
      if (sample.name !== selector.name) continue;
      if (!selector.matchers.every((matcher) => matches(sample.labels, matcher))) continue;
      const key = keyOf(sample.labels);
      let entry = series.get(key);
      if (!entry) series.set(key, entry = { labels: { ...sample.labels }, points: [] });
      entry.points.push({ at: scrape.at, value: sample.value });
    }
  }
  return series;
}

/**
 * Evaluates an instant query at `at`, as a Grafana panel does for each point.
 *
 * @param expr What {@linkcode parsePromql} returned; its top must be a vector.
 * @param scrapes The scrapes, in time order.
 * @param at The evaluation time in ms since the epoch.
 * @returns The result vector; empty when no series match.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluate, parsePromql } from "./promql.ts";
 *
 * const scrapes = [0, 2, 6].map((value, i) => ({
 *   at: i * 1000,
 *   samples: [{ name: "im_x_total", labels: { kind: "a" }, value }],
 * }));
 * const [rate] = evaluate(parsePromql("sum by (kind) (rate(im_x_total[1m]))"), scrapes, 2000);
 * assert.deepEqual(rate, { labels: { kind: "a" }, value: 3 });
 * ```
 */
export function evaluate(expr: Expr, scrapes: readonly Scrape[], at: number): VectorSample[] {
  switch (expr.kind) {
    case "number":
      throw new TypeError("a number is not a vector");
    case "selector": {
      if (expr.rangeMs !== undefined) {
        throw new TypeError(`a range selector needs rate or increase`);
      }
      const series = rangeOf(expr, scrapes, at, LOOKBACK_MS);
      return [...series.values()].map(({ labels, points }) => ({
        labels,
        value: points.at(-1)!.value,
      }));
    }
    case "call": {
      if (expr.fn === "histogram_quantile") {
        const phi = (expr.args[0] as { value: number }).value;
        const groups = new Map<
          string,
          { labels: Record<string, string>; buckets: { le: number; count: number }[] }
        >();
        for (const { labels, value } of evaluate(expr.args[1], scrapes, at)) {
          const { le, ...rest } = labels;
          // Prometheus skips elements without a numeric le the same way.
          if (le === undefined) continue;
          const key = keyOf(rest);
          let group = groups.get(key);
          if (!group) groups.set(key, group = { labels: rest, buckets: [] });
          group.buckets.push({ le: le === "+Inf" ? Infinity : Number(le), count: value });
        }
        return [...groups.values()].map(({ labels, buckets }) => ({
          labels,
          value: bucketQuantile(phi, buckets),
        }));
      }
      const selector = expr.args[0] as Extract<Expr, { kind: "selector" }>;
      const out: VectorSample[] = [];
      for (const { labels, points } of rangeOf(selector, scrapes, at, selector.rangeMs!).values()) {
        // Like Prometheus: one sample is not a rate.
        if (points.length < 2) continue;
        let increase = 0;
        for (let i = 1; i < points.length; i++) {
          const [before, after] = [points[i - 1].value, points[i].value];
          // A counter that went down was reset (a restart): count from zero.
          increase += after >= before ? after - before : after;
        }
        const seconds = (points.at(-1)!.at - points[0].at) / 1000;
        out.push({ labels, value: expr.fn === "increase" ? increase : increase / seconds });
      }
      return out;
    }
    case "aggregate": {
      const groups = new Map<string, { labels: Record<string, string>; values: number[] }>();
      for (const { labels, value } of evaluate(expr.arg, scrapes, at)) {
        const kept: Record<string, string> = {};
        for (const label of expr.by ?? []) {
          if (labels[label] !== undefined) kept[label] = labels[label];
        }
        const key = keyOf(kept);
        let group = groups.get(key);
        if (!group) groups.set(key, group = { labels: kept, values: [] });
        group.values.push(value);
      }
      return [...groups.values()].map(({ labels, values }) => ({
        labels,
        value: aggregate(expr.op, values),
      }));
    }
  }
}

function aggregate(op: AggregateOp, values: number[]): number {
  switch (op) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "max":
      return Math.max(...values);
    case "min":
      return Math.min(...values);
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}
