/**
 * What the benchmark reads from the server's `GET /metrics` (Prometheus text
 * format 0.0.4): histograms scraped before and after a measured window are
 * subtracted, so the figures cover the window alone (not the start-up, the
 * logins or the settling after it), and quantiles are estimated from the
 * buckets the way Prometheus's `histogram_quantile` does.
 *
 * @module
 */

/** One histogram series: cumulative buckets in increasing `le`, the last `+Inf`. */
export interface PromHistogram {
  /** Upper bounds (`le`), increasing, the last `Infinity`. */
  bounds: number[];
  /** Cumulative counts, one per bound. */
  cumulative: number[];
  sum: number;
  count: number;
}

/** One sample line: its name, its labels as written (without `le`), `le` if any, its value. */
interface Sample {
  name: string;
  labels: string;
  le?: string;
  value: number;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

// `name{a="x",le="0.1"} 3` or `name 3`. Label values here never hold `}` or
// `,` (the server's label values are route patterns, codes and kinds), so a
// split is enough; anything unreadable is skipped rather than thrown on.
function parseSample(line: string): Sample | undefined {
  const brace = line.indexOf("{");
  const space = line.lastIndexOf(" ");
  if (space <= 0) return undefined;
  const value = parseValue(line.slice(space + 1).trim());
  if (Number.isNaN(value) && line.slice(space + 1).trim() !== "NaN") return undefined;
  if (brace === -1 || brace > space) {
    return { name: line.slice(0, space).trim(), labels: "", value };
  }
  const close = line.lastIndexOf("}", space);
  if (close === -1) return undefined;
  const name = line.slice(0, brace);
  let le: string | undefined;
  const labels = line.slice(brace + 1, close).split(",").filter((pair) => {
    if (!pair.startsWith("le=")) return pair !== "";
    le = pair.slice(4, -1);
    return false;
  }).join(",");
  return { name, labels, le, value };
}

/** The series key of a sample: `name` or `name{labels}`. */
const keyOf = (name: string, labels: string) => labels ? `${name}{${labels}}` : name;

/**
 * Every histogram series in an exposition, by `name` or `name{labels}`
 * (labels without `le`).
 *
 * @example Usage
 * ```ts
 * import { parseHistograms } from "./prometheus.ts";
 * const text = 'lag_seconds_bucket{le="0.1"} 3\nlag_seconds_bucket{le="+Inf"} 4\n' +
 *   "lag_seconds_sum 0.5\nlag_seconds_count 4\n";
 * parseHistograms(text).get("lag_seconds")?.count; // 4
 * ```
 */
export function parseHistograms(text: string): Map<string, PromHistogram> {
  const found = new Map<string, PromHistogram>();
  const get = (key: string) => {
    let h = found.get(key);
    if (!h) found.set(key, h = { bounds: [], cumulative: [], sum: NaN, count: NaN });
    return h;
  };
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseSample(line);
    if (!sample) continue;
    if (sample.name.endsWith("_bucket") && sample.le !== undefined) {
      const h = get(keyOf(sample.name.slice(0, -7), sample.labels));
      h.bounds.push(parseValue(sample.le));
      h.cumulative.push(sample.value);
    } else if (sample.name.endsWith("_sum")) {
      get(keyOf(sample.name.slice(0, -4), sample.labels)).sum = sample.value;
    } else if (sample.name.endsWith("_count")) {
      get(keyOf(sample.name.slice(0, -6), sample.labels)).count = sample.value;
    }
  }
  // `_sum`/`_count` of something that is not a histogram (no buckets): not one.
  for (const [key, h] of found) {
    if (h.bounds.length === 0) {
      found.delete(key);
      continue;
    }
    const order = h.bounds.map((_, i) => i).sort((a, b) => h.bounds[a] - h.bounds[b]);
    h.bounds = order.map((i) => h.bounds[i]);
    h.cumulative = order.map((i) => h.cumulative[i]);
    if (Number.isNaN(h.count)) h.count = h.cumulative.at(-1)!;
  }
  return found;
}

/**
 * The value of a sample without labels (a gauge or counter such as
 * `im_mailbox_entries`), or `undefined` when absent.
 *
 * @example Usage
 * ```ts
 * import { parseGauge } from "./prometheus.ts";
 * parseGauge("# TYPE im_users gauge\nim_users 12\n", "im_users"); // 12
 * ```
 */
export function parseGauge(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + " ")) continue;
    return parseValue(line.slice(name.length + 1).trim());
  }
  return undefined;
}

/**
 * What was observed between two scrapes of the same histogram: `after −
 * before`, bucket by bucket. When the bounds differ, or any count went down
 * (the server restarted between the scrapes), `after` alone is returned: it
 * then covers everything since that restart.
 *
 * @example Usage
 * ```ts
 * import { subtractHistogram } from "./prometheus.ts";
 * const before = { bounds: [0.1, Infinity], cumulative: [3, 4], sum: 0.5, count: 4 };
 * const after = { bounds: [0.1, Infinity], cumulative: [5, 7], sum: 1.5, count: 7 };
 * subtractHistogram(after, before).cumulative; // [2, 3]
 * ```
 */
export function subtractHistogram(after: PromHistogram, before?: PromHistogram): PromHistogram {
  if (
    !before || before.bounds.length !== after.bounds.length ||
    before.bounds.some((bound, i) => bound !== after.bounds[i])
  ) {
    return after;
  }
  const cumulative = after.cumulative.map((n, i) => n - before.cumulative[i]);
  const count = after.count - before.count;
  if (count < 0 || cumulative.some((n) => n < 0)) return after;
  return { bounds: after.bounds, cumulative, sum: after.sum - before.sum, count };
}

/**
 * The q-quantile estimated from the buckets, as Prometheus's
 * `histogram_quantile` does: linear interpolation inside the bucket that holds
 * the rank (the first bucket starts at 0); a rank in the `+Inf` bucket gives
 * the largest finite bound. NaN when nothing was observed.
 *
 * @example Usage
 * ```ts
 * import { histogramQuantile } from "./prometheus.ts";
 * const h = { bounds: [0.01, 0.1, Infinity], cumulative: [50, 100, 100], sum: 0, count: 100 };
 * histogramQuantile(h, 0.75); // 0.055: halfway into the bucket 0.01 … 0.1
 * ```
 */
export function histogramQuantile(h: PromHistogram, q: number): number {
  const total = h.cumulative.at(-1) ?? 0;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let i = h.cumulative.findIndex((n) => n >= rank);
  if (i === -1) i = h.cumulative.length - 1;
  const upper = h.bounds[i];
  if (upper === Infinity) return h.bounds.length > 1 ? h.bounds[h.bounds.length - 2] : NaN;
  const lower = i === 0 ? 0 : h.bounds[i - 1];
  const below = i === 0 ? 0 : h.cumulative[i - 1];
  const inBucket = h.cumulative[i] - below;
  if (i === 0 && upper <= 0) return upper;
  return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
}

/**
 * The upper bound of the highest bucket with an observation: the largest
 * observation was at most this (`Infinity` past the last finite bound). NaN
 * when nothing was observed.
 *
 * @example Usage
 * ```ts
 * import { maxBucket } from "./prometheus.ts";
 * maxBucket({ bounds: [0.01, 0.1, Infinity], cumulative: [5, 6, 6], sum: 0, count: 6 }); // 0.1
 * ```
 */
export function maxBucket(h: PromHistogram): number {
  const total = h.cumulative.at(-1) ?? 0;
  if (!(total > 0)) return NaN;
  return h.bounds[h.cumulative.findIndex((n) => n >= total)];
}

/** A histogram over a window, summarized in milliseconds. */
export interface WindowSummary {
  /** Observations in the window. */
  count: number;
  p99Ms: number;
  /** Upper bound of the highest non-empty bucket, ms. */
  maxMs: number;
}

/**
 * Summarizes histogram `name` between two scrapes (either may be missing:
 * a server without `/metrics`); `undefined` when there is nothing to say.
 *
 * @example Usage
 * ```ts
 * import { windowSummary } from "./prometheus.ts";
 * const scrape = (a: number, b: number) =>
 *   `x_seconds_bucket{le="0.001"} ${a}\nx_seconds_bucket{le="+Inf"} ${b}\nx_seconds_count ${b}\n`;
 * windowSummary(scrape(10, 10), scrape(109, 110), "x_seconds");
 * // { count: 100, p99Ms: 1, maxMs: Infinity }
 * ```
 */
export function windowSummary(
  before: string | undefined,
  after: string | undefined,
  name: string,
): WindowSummary | undefined {
  if (after === undefined) return undefined;
  const end = parseHistograms(after).get(name);
  if (!end) return undefined;
  const start = before === undefined ? undefined : parseHistograms(before).get(name);
  const window = subtractHistogram(end, start);
  return {
    count: window.count,
    p99Ms: histogramQuantile(window, 0.99) * 1000,
    maxMs: maxBucket(window) * 1000,
  };
}

/**
 * Scrapes `GET {url}/metrics`; `undefined` when the server has none (the
 * baseline, or `--metrics off`) or does not answer.
 *
 * @example Usage
 * ```ts ignore
 * const text = await scrapeMetrics("http://127.0.0.1:8080");
 * ```
 */
export async function scrapeMetrics(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    return response.ok ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Histogram `name` between two scrapes, every label set of it added up
 * (`im_redis_command_seconds{command=…}` is one histogram per command);
 * `undefined` when the later scrape has none.
 *
 * @example Usage
 * ```ts
 * import { windowHistogram } from "./prometheus.ts";
 * const scrape = (a: number, b: number) =>
 *   `x_seconds_bucket{c="get",le="0.001"} ${a}\nx_seconds_bucket{c="get",le="+Inf"} ${a}\n` +
 *   `x_seconds_bucket{c="set",le="0.001"} ${b}\nx_seconds_bucket{c="set",le="+Inf"} ${b}\n`;
 * windowHistogram(scrape(1, 2), scrape(5, 10), "x_seconds")?.count; // 12
 * ```
 */
export function windowHistogram(
  before: string | undefined,
  after: string | undefined,
  name: string,
): PromHistogram | undefined {
  if (after === undefined) return undefined;
  const end = parseHistograms(after);
  const start = before === undefined ? new Map<string, PromHistogram>() : parseHistograms(before);
  const windows = [...end].filter(([key]) => key === name || key.startsWith(name + "{"))
    .map(([key, h]) => subtractHistogram(h, start.get(key)));
  return windows.length ? addHistograms(windows) : undefined;
}

/**
 * Adds histograms with the same buckets (several nodes' views of one thing);
 * one whose bounds differ from the first's is left out.
 *
 * @example Usage
 * ```ts
 * import { addHistograms } from "./prometheus.ts";
 * const a = { bounds: [0.1, Infinity], cumulative: [3, 4], sum: 0.5, count: 4 };
 * addHistograms([a, a]).cumulative; // [6, 8]
 * ```
 */
export function addHistograms(histograms: PromHistogram[]): PromHistogram {
  const [first, ...rest] = histograms;
  const out = { ...first, cumulative: [...first.cumulative] };
  for (const h of rest) {
    if (h.bounds.length !== first.bounds.length || h.bounds.some((b, i) => b !== first.bounds[i])) {
      continue;
    }
    h.cumulative.forEach((n, i) => out.cumulative[i] += n);
    out.sum += h.sum;
    out.count += h.count;
  }
  return out;
}

/**
 * A window's histogram summarized in milliseconds (see {@linkcode windowSummary}).
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./prometheus.ts";
 * summarize({ bounds: [0.01, Infinity], cumulative: [10, 10], sum: 0, count: 10 }).maxMs; // 10
 * ```
 */
export function summarize(window: PromHistogram): WindowSummary {
  return {
    count: window.count,
    p99Ms: histogramQuantile(window, 0.99) * 1000,
    maxMs: maxBucket(window) * 1000,
  };
}
