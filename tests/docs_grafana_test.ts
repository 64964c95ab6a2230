/**
 * `docs/grafana.json` imports cleanly and asks only for what the server
 * has: every `im_*` name in every query is a family a real server exposes
 * on `GET /metrics` (a histogram through `_bucket`, `_sum` or `_count`),
 * every label is one that family carries, `rate` and `increase` read only
 * counters, and every query is in the PromQL subset the screenshot's page
 * can draw (`tests/browser/promql.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { allPanels, type GrafanaPanel, loadDashboard } from "./browser/grafana.ts";
import { type Expr, interpolate, parsePromql, selectors } from "./browser/promql.ts";
import { api, login, sendDirect, TestSocket } from "./e2e/client.ts";
import { TestServer } from "./e2e/harness.ts";
import { type MetricFamily, parseExposition } from "./telemetry/exposition_parser.ts";

const DATASOURCE = { type: "prometheus", uid: "${DS_PROMETHEUS}" };
const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];
// Labels Prometheus adds to every sample of a target.
const TARGET_LABELS = ["instance", "job"];
// Stands for the $instance variable, to check that every selector uses it.
const INSTANCE = "<$instance>";

const dashboard = await loadDashboard();
const panels = allPanels(dashboard.panels).filter((panel) => panel.type !== "row");
const queries = panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, target }))
);

function parse(expr: string): Expr {
  return parsePromql(interpolate(expr, { instance: INSTANCE, __range: "1h" }));
}

function overlaps(a: GrafanaPanel["gridPos"], b: GrafanaPanel["gridPos"]): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

Deno.test("grafana.json: a schema 39 dashboard with a Prometheus input and an instance variable", () => {
  assert.equal(dashboard.schemaVersion, 39);
  assert.equal(dashboard.uid, "huayi-im");
  assert.deepEqual(
    dashboard.__inputs.map(({ name, type, pluginId }) => ({ name, type, pluginId })),
    [{ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }],
  );
  const [variable, ...others] = dashboard.templating.list;
  assert.deepEqual(others, []);
  assert.equal(variable.name, "instance");
  assert.equal(variable.type, "query");
  assert.deepEqual(variable.datasource, DATASOURCE);
  assert.equal(variable.includeAll, true);
  assert.equal(variable.allValue, ".*");
  assert.equal(variable.definition, "label_values(im_connections_open, instance)");

  const all = allPanels(dashboard.panels);
  assert.equal(new Set(all.map((panel) => panel.id)).size, all.length, "panel ids are unique");
  for (const [i, panel] of all.entries()) {
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${panel.title} on the grid`);
    for (const other of all.slice(i + 1)) {
      assert.ok(!overlaps(panel.gridPos, other.gridPos), `${panel.title} overlaps ${other.title}`);
    }
    if (panel.type === "row") continue;
    assert.ok(["stat", "timeseries"].includes(panel.type), panel.type);
    assert.deepEqual(panel.datasource, DATASOURCE, panel.title);
    assert.ok(panel.title && panel.description, `${panel.id} has a title and a description`);
    assert.ok(panel.fieldConfig?.defaults.unit, `${panel.title} has a unit`);
    const targets = panel.targets ?? [];
    assert.ok(targets.length > 0, `${panel.title} has queries`);
    assert.equal(new Set(targets.map((t) => t.refId)).size, targets.length, panel.title);
    for (const target of targets) {
      assert.deepEqual(target.datasource, DATASOURCE, panel.title);
      assert.ok(target.legendFormat, `${panel.title} ${target.refId} names its series`);
      // A stat shows one number now; a graph needs a range query.
      assert.equal(target.instant, panel.type === "stat", `${panel.title} ${target.refId}`);
    }
  }
});

Deno.test("grafana.json: every query is drawable PromQL and filters on $instance", () => {
  for (const { panel, target } of queries) {
    const expr = parse(target.expr);
    for (const selector of selectors(expr)) {
      assert.ok(
        selector.matchers.some((m) =>
          m.label === "instance" && m.op === "=~" && m.value === INSTANCE
        ),
        `${panel.title}: ${selector.name} is not filtered by instance=~"$instance"`,
      );
    }
  }
});

/** Label names per family, from the contract's `im_x{a,b}` in openapi.yaml. */
async function contractLabels(): Promise<Map<string, string[]>> {
  const openapi = await Deno.readTextFile(new URL("../openapi.yaml", import.meta.url));
  const labels = new Map<string, string[]>();
  for (const [, name, list] of openapi.matchAll(/`(im_\w+)\{([^}]*)\}/g)) {
    labels.set(name, list.split(",").map((part) => part.split("=")[0].trim()));
  }
  return labels;
}

/** A real server's families, after a little traffic so labelled ones have samples. */
async function realFamilies(): Promise<Map<string, MetricFamily>> {
  await using server = await TestServer.start({ "rate-messages": 1 });
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quidditch" } });
  const socket = await TestSocket.open(server, ron, { since: 0 });
  for (let i = 0; i < 12; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `m${i}`);
  await sendDirect(server, harry, "Harry", ["x"], "bad");
  await socket.close();
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

// The aggregations between histogram_quantile and its selector keep `le`.
function checkQuantiles(expr: Expr, where: string, insideQuantile = false): void {
  if (expr.kind === "call" && expr.fn === "histogram_quantile") {
    const [, inner] = expr.args;
    for (const selector of selectors(inner)) {
      assert.ok(selector.name.endsWith("_bucket"), `${where}: quantile of ${selector.name}`);
    }
    checkQuantiles(inner, where, true);
  } else if (expr.kind === "aggregate") {
    if (insideQuantile) assert.ok(expr.by?.includes("le"), `${where}: ${expr.op} drops le`);
    checkQuantiles(expr.arg, where, insideQuantile);
  } else if (expr.kind === "call") {
    for (const arg of expr.args) checkQuantiles(arg, where, insideQuantile);
  }
}

// Labels an expression names: in selectors and in `by`.
function byLabels(expr: Expr): string[] {
  if (expr.kind === "aggregate") return [...(expr.by ?? []), ...byLabels(expr.arg)];
  if (expr.kind === "call") return expr.args.flatMap(byLabels);
  return [];
}

// The counters rate() and increase() are applied to.
function ratedNames(expr: Expr): string[] {
  if (expr.kind === "call" && expr.fn !== "histogram_quantile") {
    return selectors(expr).map((s) => s.name);
  }
  if (expr.kind === "call") return expr.args.flatMap(ratedNames);
  if (expr.kind === "aggregate") return ratedNames(expr.arg);
  return [];
}

Deno.test("grafana.json: every metric and label in the queries is one the real server exposes", async () => {
  const families = await realFamilies();
  const contract = await contractLabels();
  const used = new Set<string>();
  // What a sample name is: its family, and whether it is a counter's.
  const resolve = (name: string, where: string) => {
    const direct = families.get(name);
    if (direct) {
      assert.notEqual(direct.type, "histogram", `${where}: ${name} is a histogram; use _bucket`);
      return { family: direct, counter: direct.type === "counter" };
    }
    const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
    const family = suffix && families.get(name.slice(0, -suffix.length));
    assert.ok(family && family.type === "histogram", `${where}: no family ${name} on /metrics`);
    return { family, counter: true };
  };
  const labelsOf = (family: MetricFamily, sample: string) =>
    new Set([
      ...family.samples.flatMap((s) => Object.keys(s.labels)),
      ...(contract.get(family.name) ?? []),
      ...TARGET_LABELS,
      ...(sample.endsWith("_bucket") ? ["le"] : []),
    ]);

  for (const { panel, target } of queries) {
    const where = `${panel.title} ${target.refId}`;
    const expr = parse(target.expr);
    // Independent of the parser: every im_ name anywhere in the text.
    const names = [...target.expr.matchAll(/\bim_[a-z0-9_]+/g)].map((m) => m[0]);
    assert.deepEqual(names, selectors(expr).map((s) => s.name), `${where}: names`);
    for (const selector of selectors(expr)) {
      const { family } = resolve(selector.name, where);
      used.add(family.name);
      const known = labelsOf(family, selector.name);
      for (const { label } of selector.matchers) {
        assert.ok(known.has(label), `${where}: ${selector.name} has no label ${label}`);
      }
      for (const label of byLabels(expr)) {
        assert.ok(known.has(label), `${where}: ${selector.name} has no label ${label} (by)`);
      }
    }
    for (const name of ratedNames(expr)) {
      assert.ok(resolve(name, where).counter, `${where}: rate or increase of gauge ${name}`);
    }
    checkQuantiles(expr, where);
  }
  const variable = dashboard.templating.list[0].definition!;
  assert.ok(families.has(variable.match(/im_\w+/)![0]), variable);

  // And the dashboard shows every family the server has.
  assert.deepEqual([...families.keys()].filter((name) => !used.has(name)), []);
});
