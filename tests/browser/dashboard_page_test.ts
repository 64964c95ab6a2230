import assert from "node:assert/strict";
import { escapeHtml, formatValue } from "./dashboard_page.ts";
import { legendName } from "./grafana.ts";

Deno.test("dashboard page: Grafana's units and legend names", () => {
  assert.equal(formatValue(0, "s"), "0 s");
  assert.equal(formatValue(0.000_051_2, "s"), "51.2 µs");
  assert.equal(formatValue(0.217, "s"), "217 ms");
  assert.equal(formatValue(90, "s"), "1.5 min");
  assert.equal(formatValue(72, "short"), "72");
  assert.equal(formatValue(12_345, "short"), "12.3 K");
  assert.equal(formatValue(5_070, "bytes"), "4.95 KiB");
  assert.equal(formatValue(512, "bytes"), "512 B");
  assert.equal(formatValue(0.4, "reqps"), "0.4 req/s");
  assert.equal(formatValue(1.1, "ops"), "1.1 ops/s");
  assert.equal(formatValue(NaN, "s"), "NaN");
  assert.equal(legendName("recovered={{recovered}}", { recovered: "true" }), "recovered=true");
  assert.equal(legendName("{{ code }}", {}), "");
  assert.equal(escapeHtml(`<b title='x'>&</b>`), "&lt;b title=&#39;x&#39;&gt;&amp;&lt;/b&gt;");
});
