/**
 * What the tests read of `docs/grafana.json` (a Grafana dashboard, schema
 * 39), and its panels' queries run over scrapes of a real server with the
 * PromQL subset of `promql.ts`: the numbers the screenshot's page draws.
 *
 * @module
 */

import type { MetricFamily } from "../telemetry/exposition_parser.ts";
import { evaluate, interpolate, parsePromql, type Scrape } from "./promql.ts";

/** The dashboard's file. */
export const DASHBOARD_URL: URL = new URL("../../docs/grafana.json", import.meta.url);

/** A panel query. */
export interface GrafanaTarget {
  readonly expr: string;
  readonly legendFormat?: string;
  readonly refId: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly datasource?: { readonly type: string; readonly uid: string };
}

/** A field override: a matcher and the properties it sets. */
export interface GrafanaOverride {
  readonly matcher: { readonly id: string; readonly options: string };
  readonly properties: readonly { readonly id: string; readonly value: unknown }[];
}

/** A threshold step: from `value` on (null: from minus infinity), `color`. */
export interface ThresholdStep {
  readonly color: string;
  readonly value: number | null;
}

/** A panel, or a row holding panels when collapsed. */
export interface GrafanaPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly gridPos: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
  };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly GrafanaTarget[];
  readonly collapsed?: boolean;
  readonly panels?: readonly GrafanaPanel[];
  readonly fieldConfig?: {
    readonly defaults: {
      readonly unit?: string;
      readonly min?: number;
      readonly thresholds?: { readonly mode: string; readonly steps: readonly ThresholdStep[] };
      readonly custom?: { readonly lineWidth?: number; readonly fillOpacity?: number };
    };
    readonly overrides: readonly GrafanaOverride[];
  };
  readonly options?: {
    readonly legend?: { readonly placement?: string; readonly calcs?: readonly string[] };
  };
}

/** A template variable. */
export interface GrafanaVariable {
  readonly name: string;
  readonly type: string;
  readonly label?: string;
  readonly definition?: string;
  readonly query?: string | { readonly query: string };
  readonly includeAll?: boolean;
  readonly allValue?: string;
  readonly multi?: boolean;
  readonly datasource?: { readonly type: string; readonly uid: string };
}

/** The dashboard, as far as the tests read it. */
export interface GrafanaDashboard {
  readonly title: string;
  readonly uid: string;
  readonly schemaVersion: number;
  readonly __inputs: readonly {
    readonly name: string;
    readonly type: string;
    readonly pluginId: string;
  }[];
  readonly panels: readonly GrafanaPanel[];
  readonly templating: { readonly list: readonly GrafanaVariable[] };
}

/** Reads and parses `docs/grafana.json`. */
export async function loadDashboard(): Promise<GrafanaDashboard> {
  return JSON.parse(await Deno.readTextFile(DASHBOARD_URL));
}

/**
 * Every panel, rows included, with a collapsed row's panels right after it:
 * the order Grafana lays them out in.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { allPanels, type GrafanaPanel } from "./grafana.ts";
 *
 * const gridPos = { x: 0, y: 0, w: 24, h: 1 };
 * const inner = { id: 2, type: "stat", title: "b", gridPos } as GrafanaPanel;
 * const row = { id: 1, type: "row", title: "a", gridPos, collapsed: true, panels: [inner] };
 * assert.deepEqual(allPanels([row]).map((p) => p.id), [1, 2]);
 * ```
 */
export function allPanels(panels: readonly GrafanaPanel[]): GrafanaPanel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/**
 * A series' display name as Grafana makes it from `legendFormat`: each
 * `{{label}}` replaced by the label's value (empty when absent); without a
 * format, the label set in braces.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { legendName } from "./grafana.ts";
 *
 * assert.equal(legendName("{{route}} {{status}}", { route: "/x", status: "200" }), "/x 200");
 * assert.equal(legendName(undefined, { kind: "topic" }), '{kind="topic"}');
 * ```
 */
export function legendName(
  format: string | undefined,
  labels: Readonly<Record<string, string>>,
): string {
  if (format && format !== "__auto") {
    return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, label: string) => labels[label] ?? "");
  }
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`;
}

/**
 * Turns a parsed exposition into a scrape as Prometheus stores it: every
 * sample gains the target's labels (`instance`, `job`).
 */
export function toScrape(
  families: Map<string, MetricFamily>,
  at: number,
  target: Readonly<Record<string, string>>,
): Scrape {
  const samples = [...families.values()].flatMap((family) =>
    family.samples.map((sample) => ({
      name: sample.name,
      labels: { ...sample.labels, ...target },
      value: sample.value,
    }))
  );
  return { at, samples };
}

/** One drawn series: a value per evaluation time (null where there is none, or NaN). */
export interface SeriesResult {
  readonly name: string;
  readonly refId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly values: readonly (number | null)[];
  /** Grafana's "Last *" (lastNotNull), or null. */
  readonly last: number | null;
  readonly max: number | null;
}

/** A panel's results. */
export interface PanelResult {
  readonly panel: GrafanaPanel;
  /** Evaluation times, ms since the epoch: every scrape, or the last one for a stat. */
  readonly times: readonly number[];
  readonly series: readonly SeriesResult[];
  /** Each target's expression as run, by refId. */
  readonly queries: Readonly<Record<string, string>>;
}

/**
 * Runs every panel's targets over the scrapes: a time series panel at each
 * scrape's time (a range query with the scrapes as steps), a stat panel at
 * the last one (an instant query).
 *
 * @param variables The template variables' values, `__range` among them.
 */
export function evaluatePanels(
  dashboard: GrafanaDashboard,
  scrapes: readonly Scrape[],
  variables: Record<string, string>,
): PanelResult[] {
  const results: PanelResult[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    if (panel.type === "row") continue;
    const times = panel.type === "stat" ? [scrapes.at(-1)!.at] : scrapes.map((s) => s.at);
    const series: SeriesResult[] = [];
    const queries: Record<string, string> = {};
    for (const target of panel.targets ?? []) {
      const query = interpolate(target.expr, variables);
      queries[target.refId] = query;
      const expr = parsePromql(query);
      const byName = new Map<
        string,
        { labels: Record<string, string>; values: (number | null)[] }
      >();
      times.forEach((at, index) => {
        for (const { labels, value } of evaluate(expr, scrapes, at)) {
          const name = legendName(target.legendFormat, labels);
          let entry = byName.get(name);
          if (!entry) {
            byName.set(name, entry = { labels: { ...labels }, values: times.map(() => null) });
          }
          // Grafana draws NaN (a quantile of no observations) as a gap.
          entry.values[index] = Number.isNaN(value) ? null : value;
        }
      });
      const names = [...byName.keys()].sort();
      for (const name of names) {
        const { labels, values } = byName.get(name)!;
        const present = values.filter((v): v is number => v !== null);
        series.push({
          name,
          refId: target.refId,
          labels,
          values,
          last: present.at(-1) ?? null,
          max: present.length ? Math.max(...present) : null,
        });
      }
    }
    results.push({ panel, times, series, queries });
  }
  return results;
}
