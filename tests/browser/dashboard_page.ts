/**
 * Draws the panels of `docs/grafana.json` as one static HTML page (inline
 * CSS and SVG, no script, nothing fetched), from the numbers
 * {@linkcode evaluatePanels} computed over real scrapes. Grafana is not
 * available here, so this stands in for it in the README's screenshot: the
 * same titles, layout (Grafana's 24-column grid, 30 px rows, 8 px gaps),
 * units, legends ("Last *" and "Max"), thresholds and overrides.
 *
 * Every drawn number also sits in a `data-*` attribute, exactly as computed,
 * so a test can compare what the page shows with what it expected.
 *
 * @module
 */

import type { GrafanaOverride, GrafanaPanel, PanelResult, ThresholdStep } from "./grafana.ts";

/** The page's width in CSS pixels; the viewport should match it. */
export const PAGE_WIDTH = 1440;

const MARGIN = 12;
const ROW_HEIGHT = 30;
const GAP = 8;
const HEADER_HEIGHT = 112;
const COLUMN = (PAGE_WIDTH - 2 * MARGIN + GAP) / 24;
const PANEL_HEADER = 28;
const LEGEND_LINE = 17;
const AXIS_LEFT = 78;
const AXIS_BOTTOM = 18;

// Grafana's "palette-classic", in its order.
const PALETTE = [
  "#7EB26D",
  "#EAB839",
  "#6ED0E0",
  "#EF843C",
  "#E24D42",
  "#1F78C1",
  "#BA43A9",
  "#705DA0",
  "#508642",
  "#CCA300",
  "#447EBC",
  "#C15C17",
];
// Grafana's named colours, the ones the dashboard uses.
const NAMED: Record<string, string> = {
  green: "#73BF69",
  red: "#F2495C",
  yellow: "#FADE2A",
  orange: "#FF9830",
  blue: "#5794F2",
};

/** What the page says about where its numbers came from. */
export interface PageMeta {
  /** The `instance` variable's shown value, e.g. `All (127.0.0.1:8080)`. */
  readonly instance: string;
  /** How many scrapes, over how long. */
  readonly scrapes: number;
  readonly spanMs: number;
  /** Lines about the traffic behind the numbers. */
  readonly notes: readonly string[];
}

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./dashboard_page.ts";
 *
 * assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

// Three significant digits, without trailing zeros; whole numbers as they are.
function plain(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(3)));
}

function scaled(value: number, steps: readonly [number, string][]): string {
  for (const [size, suffix] of steps) {
    if (Math.abs(value) >= size) return `${plain(value / size)}${suffix}`;
  }
  return plain(value);
}

/**
 * Formats a value in one of the dashboard's Grafana units: `short`, `s`,
 * `bytes` (IEC), `ops` (ops/s), `reqps` (req/s) and custom `suffix:…`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./dashboard_page.ts";
 *
 * assert.equal(formatValue(0.0042, "s"), "4.2 ms");
 * assert.equal(formatValue(2048, "bytes"), "2 KiB");
 * assert.equal(formatValue(2 / 3, "suffix: msg/s"), "0.667 msg/s");
 * assert.equal(formatValue(null, "short"), "No data");
 * ```
 */
export function formatValue(value: number | null, unit = "short"): string {
  if (value === null) return "No data";
  if (!Number.isFinite(value)) return String(value);
  const short = () => scaled(value, [[1e9, " Bil"], [1e6, " Mil"], [1e3, " K"]]);
  if (unit === "s") {
    const size = Math.abs(value);
    if (size === 0) return "0 s";
    if (size < 1e-6) return `${plain(value * 1e9)} ns`;
    if (size < 1e-3) return `${plain(value * 1e6)} µs`;
    if (size < 1) return `${plain(value * 1e3)} ms`;
    if (size < 60) return `${plain(value)} s`;
    return `${plain(value / 60)} min`;
  }
  if (unit === "bytes") {
    return scaled(value, [[2 ** 30, " GiB"], [2 ** 20, " MiB"], [2 ** 10, " KiB"]]) +
      (Math.abs(value) < 1024 ? " B" : "");
  }
  if (unit === "ops") return `${short()} ops/s`;
  if (unit === "reqps") return `${short()} req/s`;
  if (unit.startsWith("suffix:")) return short() + unit.slice("suffix:".length);
  return short();
}

// Grafana's stringToJsRegex: "/re/flags" as written, anything else anchored.
function overrideRegex(pattern: string): RegExp {
  const literal = /^\/(.*)\/([gimsuy]*)$/.exec(pattern);
  return literal ? new RegExp(literal[1], literal[2]) : new RegExp(`^${pattern}$`);
}

function overridesFor(overrides: readonly GrafanaOverride[], name: string) {
  let color: string | undefined;
  let lineWidth: number | undefined;
  for (const { matcher, properties } of overrides) {
    const hit = matcher.id === "byRegexp"
      ? overrideRegex(matcher.options).test(name)
      : matcher.id === "byName" && matcher.options === name;
    if (!hit) continue;
    for (const { id, value } of properties) {
      if (id === "color") {
        const fixed = (value as { fixedColor?: string }).fixedColor;
        if (fixed) color = NAMED[fixed] ?? fixed;
      } else if (id === "custom.lineWidth") {
        lineWidth = Number(value);
      }
    }
  }
  return { color, lineWidth };
}

function thresholdColor(steps: readonly ThresholdStep[], value: number | null): string {
  let color = "#8e8e8e";
  if (value === null) return color;
  for (const step of steps) {
    if (step.value === null || value >= step.value) color = NAMED[step.color] ?? step.color;
  }
  return color;
}

// A "nice" axis step (1, 2, 2.5 or 5 times a power of ten) for about `ticks`
// intervals; for bytes, of the KiB, MiB or GiB the labels are written in.
function niceStep(max: number, ticks: number, unit?: string): number {
  if (unit === "bytes" && max >= 1024) {
    const scale = 1024 ** Math.min(3, Math.floor(Math.log(max) / Math.log(1024)));
    return niceStep(max / scale, ticks) * scale;
  }
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

// Where Grafana's grid puts a panel, in pixels.
function boxOf(panel: GrafanaPanel): Box {
  const { x, y, w, h } = panel.gridPos;
  return {
    left: MARGIN + x * COLUMN,
    top: HEADER_HEIGHT + y * (ROW_HEIGHT + GAP),
    width: w * COLUMN - GAP,
    height: h * ROW_HEIGHT + (h - 1) * GAP,
  };
}

function style(box: Box): string {
  return `left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px`;
}

function attr(name: string, value: string | number | null): string {
  return ` data-${name}="${escapeHtml(String(value))}"`;
}

function renderStat(result: PanelResult): string {
  const unit = result.panel.fieldConfig?.defaults.unit;
  const steps = result.panel.fieldConfig?.defaults.thresholds?.steps ?? [];
  if (result.series.length === 0) {
    return `<div class="stats"><div class="stat" data-testid="stat" data-series="" data-value="null">
      <span class="stat-value" style="color:#8e8e8e">No data</span></div></div>`;
  }
  const items = result.series.map((series) => {
    const color = thresholdColor(steps, series.last);
    return `<div class="stat" data-testid="stat"${attr("series", series.name)}${
      attr("value", series.last)
    }${attr("color", color)}>
      <span class="stat-value" style="color:${color}">${
      escapeHtml(formatValue(series.last, unit))
    }</span>
      <span class="stat-name">${escapeHtml(series.name)}</span></div>`;
  });
  return `<div class="stats">${items.join("")}</div>`;
}

function renderTimeSeries(result: PanelResult, box: Box, spanStart: number): string {
  const { panel, series, times } = result;
  const unit = panel.fieldConfig?.defaults.unit;
  const overrides = panel.fieldConfig?.overrides ?? [];
  const baseWidth = panel.fieldConfig?.defaults.custom?.lineWidth ?? 1;
  const fill = (panel.fieldConfig?.defaults.custom?.fillOpacity ?? 0) / 100;
  const right = panel.options?.legend?.placement === "right";
  const styled = series.map((s, index) => {
    const override = overridesFor(overrides, s.name);
    return {
      ...s,
      color: override.color ?? PALETTE[index % PALETTE.length],
      lineWidth: override.lineWidth ?? baseWidth,
      highlighted: override.color !== undefined,
    };
  });
  const innerWidth = box.width - 16;
  const legendRows = Math.max(series.length, 1) + 1;
  const legendHeight = right ? 0 : legendRows * LEGEND_LINE + 6;
  const legendWidth = right ? Math.round(innerWidth * 0.52) : innerWidth;
  const chartWidth = right ? innerWidth - legendWidth - 8 : innerWidth;
  const chartHeight = box.height - PANEL_HEADER - legendHeight - 10;

  const present = styled.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = present.length ? Math.max(...present) : 0;
  const step = max > 0 ? niceStep(max, 3, unit) : 0.25;
  const top = max > 0 ? Math.ceil(max / step - 1e-9) * step : 1;
  const plotW = chartWidth - AXIS_LEFT - 8;
  const plotH = chartHeight - AXIS_BOTTOM - 6;
  const span = Math.max(times.at(-1)! - spanStart, 1);
  const x = (at: number) => AXIS_LEFT + ((at - spanStart) / span) * plotW;
  const y = (value: number) => 6 + plotH - (value / top) * plotH;

  const parts: string[] = [];
  for (let tick = 0; tick <= top + 1e-12; tick += step) {
    const ty = y(tick).toFixed(1);
    parts.push(
      `<line x1="${AXIS_LEFT}" x2="${AXIS_LEFT + plotW}" y1="${ty}" y2="${ty}" class="grid"/>`,
      `<text x="${AXIS_LEFT - 6}" y="${ty}" class="ytick">${
        escapeHtml(formatValue(Number(tick.toPrecision(12)), unit))
      }</text>`,
    );
  }
  for (let second = 0; second * 1000 <= span; second++) {
    const tx = x(spanStart + second * 1000).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="6" y2="${6 + plotH}" class="grid"/>`,
      `<text x="${tx}" y="${chartHeight - 4}" class="xtick">+${second} s</text>`,
    );
  }
  for (const s of styled) {
    // Contiguous runs of points; a missing value is a gap, as in Grafana.
    let run: string[] = [];
    const runs: string[][] = [];
    s.values.forEach((value, index) => {
      if (value === null) {
        if (run.length) runs.push(run);
        run = [];
      } else {
        run.push(`${x(times[index]).toFixed(1)},${y(value).toFixed(1)}`);
      }
    });
    if (run.length) runs.push(run);
    for (const points of runs) {
      if (fill > 0 && points.length > 1) {
        const first = points[0].split(",")[0];
        const last = points.at(-1)!.split(",")[0];
        const base = y(0).toFixed(1);
        parts.push(
          `<polygon points="${first},${base} ${
            points.join(" ")
          } ${last},${base}" fill="${s.color}" fill-opacity="${fill}"/>`,
        );
      }
      parts.push(
        `<polyline data-testid="line"${attr("series", s.name)} points="${
          points.join(" ")
        }" fill="none" stroke="${s.color}" stroke-width="${s.lineWidth}"/>`,
      );
      for (const point of points) {
        const [cx, cy] = point.split(",");
        parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
      }
    }
  }
  if (present.length === 0) {
    parts.push(
      `<text x="${AXIS_LEFT + plotW / 2}" y="${
        6 + plotH / 2
      }" class="nodata" data-testid="no-data">No data</text>`,
    );
  }
  const chart =
    `<svg class="chart" width="${chartWidth}" height="${chartHeight}" viewBox="0 0 ${chartWidth} ${chartHeight}">${
      parts.join("")
    }</svg>`;

  const rows = styled.map((s) =>
    `<tr data-testid="legend-row"${attr("series", s.name)}${attr("last", s.last)}${
      attr("max", s.max)
    }${attr("color", s.color)}${s.highlighted ? ' class="highlighted"' : ""}>
      <td class="name"><i style="background:${s.color}"></i>${escapeHtml(s.name)}</td>
      <td class="last">${escapeHtml(formatValue(s.last, unit))}</td>
      <td>${escapeHtml(formatValue(s.max, unit))}</td></tr>`
  );
  if (rows.length === 0) {
    rows.push(`<tr><td class="name muted">No series</td><td></td><td></td></tr>`);
  }
  const legend = `<table class="legend" style="width:${legendWidth}px">
    <thead><tr><th class="name">Name</th><th>Last *</th><th>Max</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table>`;
  return `<div class="body${right ? " right" : ""}">${chart}${legend}</div>`;
}

const CSS = `
* { box-sizing: border-box; }
html, body { margin: 0; background: #111217; color: #ccccdc;
  font: 12px/1.35 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.page { position: relative; width: ${PAGE_WIDTH}px; }
header.top { position: absolute; left: ${MARGIN}px; right: ${MARGIN}px; top: 10px; }
header.top h1 { margin: 0; font-size: 20px; color: #fff; font-weight: 600; }
header.top .vars { margin-top: 4px; color: #9fa7b3; }
header.top .vars b { color: #d8d9da; background: #22252b; border: 1px solid #34373d;
  padding: 1px 6px; border-radius: 2px; font-weight: 500; }
header.top .caption { margin-top: 6px; color: #e0b400; }
header.top .notes { margin-top: 2px; color: #9fa7b3; }
.row { position: absolute; font-size: 14px; font-weight: 600; color: #d8d9da;
  padding-top: 6px; border-bottom: 1px solid #2c3235; }
.panel { position: absolute; background: #181b1f; border: 1px solid #2c3235;
  border-radius: 2px; overflow: hidden; padding: 0 8px; }
.panel h2 { margin: 0; height: ${PANEL_HEADER}px; line-height: ${PANEL_HEADER}px; font-size: 13px;
  font-weight: 500; color: #d8d9da; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.panel h2 .unit { color: #7b8087; font-weight: 400; font-size: 11px; margin-left: 6px; }
.body.right { display: flex; gap: 8px; align-items: flex-start; }
.chart { display: block; }
.chart .grid { stroke: #2c3235; stroke-width: 1; }
.chart text { fill: #9fa7b3; font-size: 10.5px; }
.chart .ytick { text-anchor: end; dominant-baseline: middle; }
.chart .xtick { text-anchor: middle; }
.chart .nodata { fill: #7b8087; font-size: 14px; text-anchor: middle; dominant-baseline: middle; }
.legend { border-collapse: collapse; margin-top: 4px; table-layout: fixed; }
.legend th, .legend td { height: ${LEGEND_LINE}px; padding: 0 4px; text-align: right;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: 11.5px; }
.legend th { color: #6e9fff; font-weight: 500; }
.legend th:not(.name), .legend td:not(.name) { width: 88px; }
.right .legend th:not(.name), .right .legend td:not(.name) { width: 86px; }
.legend .name { text-align: left; }
.legend i { display: inline-block; width: 14px; height: 4px; margin: 0 6px 2px 0;
  border-radius: 2px; vertical-align: middle; }
.legend tr.highlighted td { color: #ff7383; font-weight: 700; }
.muted { color: #7b8087; }
.stats { display: flex; justify-content: space-around; align-items: center;
  height: calc(100% - ${PANEL_HEADER}px); }
.stat { display: flex; flex-direction: column; align-items: center; }
.stat-value { font-size: 34px; font-weight: 500; line-height: 1.1; }
.stat-name { color: #9fa7b3; font-size: 12px; }
`;

/**
 * The whole page.
 *
 * @param title The dashboard's title.
 * @param panels Every panel and row of the dashboard, rows included (for their titles).
 * @param results {@linkcode evaluatePanels}' results, one per non-row panel.
 */
export function renderDashboardPage(
  title: string,
  panels: readonly GrafanaPanel[],
  results: readonly PanelResult[],
  meta: PageMeta,
): string {
  const byId = new Map(results.map((result) => [result.panel.id, result]));
  const start = Math.min(...results.flatMap((result) => result.times));
  let bottom = 0;
  const blocks = panels.map((panel) => {
    const box = boxOf(panel);
    bottom = Math.max(bottom, box.top + box.height);
    if (panel.type === "row") {
      return `<div class="row" data-testid="row" style="${style({ ...box, height: ROW_HEIGHT })}">${
        escapeHtml(panel.title)
      }</div>`;
    }
    const result = byId.get(panel.id);
    if (!result) throw new Error(`no results for panel ${panel.id} ${panel.title}`);
    const unit = panel.fieldConfig?.defaults.unit;
    const body = panel.type === "stat" ? renderStat(result) : renderTimeSeries(result, box, start);
    const queries = Object.values(result.queries).join("\n");
    return `<section class="panel" data-testid="panel"${attr("title", panel.title)}${
      attr("type", panel.type)
    } title="${escapeHtml(queries)}" style="${style(box)}">
      <h2>${escapeHtml(panel.title)}${
      unit && panel.type !== "stat"
        ? `<span class="unit">${escapeHtml(unitLabel(unit))}</span>`
        : ""
    }</h2>${body}</section>`;
  });
  const seconds = (meta.spanMs / 1000).toFixed(1);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${CSS}</style></head>
<body><div class="page" style="height:${bottom + MARGIN}px">
<header class="top">
  <h1>${escapeHtml(title)}</h1>
  <div class="vars">Node <b data-testid="instance">${escapeHtml(meta.instance)}</b>
    &nbsp; Range <b>the last ${seconds} s: ${meta.scrapes} scrapes</b></div>
  <div class="caption" data-testid="caption">Not Grafana: the panels and PromQL of
    docs/grafana.json, evaluated over ${meta.scrapes} real GET /metrics scrapes of a running
    Huayi IM server and drawn as SVG by tests/browser/dashboard_test.ts. rate() and increase()
    take each window's first and last sample (no extrapolation); histogram_quantile()
    interpolates in the buckets as Prometheus does.</div>
  <div class="notes">${meta.notes.map(escapeHtml).join(" · ")}</div>
</header>
${blocks.join("\n")}
</div></body></html>
`;
}

function unitLabel(unit: string): string {
  if (unit === "s") return "seconds";
  if (unit === "ops") return "ops/s";
  if (unit === "reqps") return "req/s";
  if (unit.startsWith("suffix:")) return unit.slice("suffix:".length).trim();
  return unit === "short" ? "" : unit;
}
