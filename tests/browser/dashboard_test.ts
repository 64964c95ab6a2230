/**
 * The dashboard of `docs/grafana.json`, drawn from a real server's numbers:
 * the real server, a little real traffic, a few scrapes of `GET /metrics`,
 * every panel's PromQL run over them (`promql.ts`), and the page
 * (`dashboard_page.ts`) opened in headless Chromium.
 *
 * Set `IM_SCREENSHOT` to write `docs/metrics-dashboard.png`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Browser, findChromium } from "./chromium.ts";
import { formatValue, PAGE_WIDTH, renderDashboardPage } from "./dashboard_page.ts";
import { allPanels, evaluatePanels, loadDashboard, type PanelResult, toScrape } from "./grafana.ts";
import { bucketQuantile, type Scrape } from "./promql.ts";
import { api, type Json, login, sendDirect, sendTopic, TestSocket } from "../e2e/client.ts";
import { TestServer } from "../e2e/harness.ts";
import { type MetricFamily, parseExposition, sampleValue } from "../telemetry/exposition_parser.ts";

const chromium = findChromium();
const ignore = !chromium && !Deno.env.get("CI");
if (ignore) {
  console.warn("browser tests ignored: no chromium on PATH (with CI set they fail instead)");
}
const SCREENSHOT = new URL("../../docs/metrics-dashboard.png", import.meta.url);
const screenshots = Boolean(Deno.env.get("IM_SCREENSHOT"));
// The labels Prometheus adds to every sample of a target.
const JOB = "huayi-im";
// Time between scrapes: a couple of seconds in all, enough for rates to move.
const SCRAPE_EVERY_MS = 450;
const PHASES = 5;

/** What one panel shows, read back from the page. */
interface Shown {
  title: string;
  type: string;
  overflows: string[];
  stats: { series: string; value: string; color: string; text: string }[];
  legend: { series: string; last: string; max: string; color: string; text: string }[];
  lines: { series: string; width: string }[];
  noData: boolean;
}

const READ_PANELS = `[...document.querySelectorAll('[data-testid="panel"]')].map((panel) => ({
  title: panel.dataset.title,
  type: panel.dataset.type,
  overflows: [panel, ...panel.querySelectorAll("h2, .legend td, .stat-name")]
    .filter((e) => e.scrollWidth > e.clientWidth || (e === panel && e.scrollHeight > e.clientHeight))
    .map((e) => e === panel ? "the panel" : e.textContent + " " + e.scrollWidth + ">" + e.clientWidth),
  stats: [...panel.querySelectorAll('[data-testid="stat"]')].map((stat) => ({
    series: stat.dataset.series, value: stat.dataset.value, color: stat.dataset.color ?? "",
    text: stat.querySelector(".stat-value").textContent,
  })),
  legend: [...panel.querySelectorAll('[data-testid="legend-row"]')].map((row) => ({
    series: row.dataset.series, last: row.dataset.last, max: row.dataset.max,
    color: row.dataset.color, text: row.querySelector(".last").textContent,
  })),
  lines: [...panel.querySelectorAll('[data-testid="line"]')].map((line) => ({
    series: line.dataset.series, width: line.getAttribute("stroke-width"),
  })),
  noData: panel.querySelector('[data-testid="no-data"]') !== null
    || panel.querySelector('[data-testid="stat"][data-value="null"]') !== null,
}))`;

/**
 * Sockets and the frames each is owed: a send's entry goes to the sender's
 * and every recipient's open socket (a topic's recipients are its members).
 */
class Sockets {
  readonly #open = new Map<string, TestSocket>();
  readonly #owed = new Map<TestSocket, number>();
  /** Mailbox entries taken from sockets so far. */
  delivered = 0;

  constructor(readonly server: TestServer) {}

  async open(user: string, sid: string, since = 0): Promise<TestSocket> {
    const socket = await TestSocket.open(this.server, sid, { since });
    const resumed = await socket.next();
    assert.equal(resumed.topic, "__resumed__");
    this.#open.set(user, socket);
    return socket;
  }

  get(user: string): TestSocket | undefined {
    return this.#open.get(user);
  }

  forget(user: string) {
    this.#open.delete(user);
  }

  /** Records that each of `users`' open sockets is owed one entry. */
  owe(users: readonly string[]) {
    for (const user of new Set(users)) {
      const socket = this.#open.get(user);
      if (socket) this.#owed.set(socket, (this.#owed.get(socket) ?? 0) + 1);
    }
  }

  /** Takes every owed entry, so that none is in flight when the next scrape runs. */
  async settle() {
    for (const [socket, count] of this.#owed) {
      const frames: Json[] = await socket.take(count);
      for (const frame of frames) assert.equal(typeof frame.seq, "number", JSON.stringify(frame));
      this.delivered += count;
    }
    this.#owed.clear();
    for (const socket of this.#open.values()) assert.deepEqual(socket.pending, []);
  }

  async closeAll() {
    for (const socket of this.#open.values()) await socket.close();
  }
}

Deno.test({
  name: "dashboard: the panels of docs/grafana.json drawn from real /metrics scrapes",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    // A send rate of 1/s (burst 10) and room for 4 sockets, so that a short
    // run shows 429s and a 503 with their refusal reasons.
    const server = await TestServer.start({
      "rate-messages": 1,
      "max-connections": 4,
    });
    const sockets = new Sockets(server);
    const instance = new URL(server.url).host;
    const scrapes: Scrape[] = [];
    const parsed: { at: number; families: Map<string, MetricFamily> }[] = [];
    const scrape = async () => {
      await sockets.settle();
      const response = await fetch(`${server.url}/metrics`);
      assert.equal(response.status, 200);
      const families = parseExposition(await response.text());
      // The time Prometheus would stamp: when the answer came.
      const at = Date.now();
      parsed.push({ at, families });
      scrapes.push(toScrape(families, at, { instance, job: JOB }));
    };
    // What the test did between the first scrape and the last.
    const did = { direct: 0, topic: 0, badRequests: 0, limited: 0, unavailable: 0 };
    let counting = false;
    const sids = new Map<string, string>();
    const direct = async (from: string, to: string, content: string) => {
      const { status } = await sendDirect(server, sids.get(from)!, from, [to], content);
      if (status === 200) sockets.owe([from, to]);
      if (counting && status === 200) did.direct++;
      if (counting && status === 429) did.limited++;
      return status;
    };
    const topic = async (from: string, content: string) => {
      const { status } = await sendTopic(server, sids.get(from)!, from, "quidditch", content);
      assert.equal(status, 200);
      sockets.owe(["Harry", "Ron_W", "Hermione"]);
      if (counting) did.topic++;
    };
    const capped = async () => {
      const refused = await fetch(`${server.url}/api/ws?sid=${sids.get("Neville")}`);
      await refused.body?.cancel();
      assert.equal(refused.status, 503);
      if (counting) did.unavailable++;
    };
    const badRequest = async (from: string) => {
      const { status } = await sendDirect(server, sids.get(from)!, from, ["x"], "to nobody");
      assert.equal(status, 400);
      if (counting) did.badRequests++;
    };

    const browser = await Browser.launch(chromium).catch(async (error) => {
      await server.stop();
      throw error;
    });
    let pageServer: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      // Warm-up, before the first scrape. A Prometheus that has scraped a
      // while has seen every series already; a series' first sample is only
      // its baseline, so each labelled series the run moves is made to exist
      // first (a 400, a 429, a 503, closes 1005 and 4001).
      for (const user of ["Harry", "Ron_W", "Hermione", "Ginny", "Neville"]) {
        sids.set(user, await login(server, user));
      }
      const created = await api(server, "POST", "/api/topics", {
        sid: sids.get("Harry"),
        body: { topic: "quidditch" },
      });
      assert.equal(created.status, 200);
      for (const user of ["Ron_W", "Hermione"]) {
        const joined = await api(server, "POST", "/api/topics/quidditch/actions/join", {
          sid: sids.get(user),
        });
        assert.equal(joined.status, 200);
      }
      for (const user of ["Harry", "Ron_W", "Hermione"]) await sockets.open(user, sids.get(user)!);
      const replaced = await sockets.open("Neville", sids.get("Neville")!);
      sids.set("Neville", await login(server, "Neville"));
      assert.equal((await replaced.closed).code, 4001);
      await (await sockets.open("Neville", sids.get("Neville")!)).close();
      sockets.forget("Neville");
      await sockets.open("Ginny", sids.get("Ginny")!);
      await capped();
      assert.equal(await direct("Harry", "Ron_W", "hello"), 200);
      await topic("Ron_W", "practice at six");
      await badRequest("Hermione");
      const burst = [];
      for (let i = 0; i < 11; i++) burst.push(await direct("Ginny", "Harry", `warm-up ${i}`));
      assert.ok(burst.includes(429), `${burst}`);
      await scrape();

      // The measured run: a phase of traffic, then a scrape, five times.
      counting = true;
      const deliveredBefore = sockets.delivered;
      for (let phase = 1; phase <= PHASES; phase++) {
        const started = Date.now();
        for (let i = 0; i < [2, 1, 2, 1, 2][phase - 1]; i++) {
          assert.equal(await direct("Harry", "Ron_W", `phase ${phase}, ${i}`), 200);
        }
        for (let i = 0; i < [1, 2, 1, 2, 1][phase - 1]; i++) await topic("Ron_W", `score ${i}`);
        assert.equal(await direct("Hermione", "Ron_W", `phase ${phase}`), 200);
        if (phase === 2) {
          await badRequest("Hermione");
          // Ron's client goes away and comes back where it left off: a close
          // without a status (1005) and a recovered resume.
          await sockets.settle();
          const last = sockets.get("Ron_W")!.raw.findLast((frame) => frame.seq)!.seq;
          await sockets.get("Ron_W")!.close();
          await sockets.open("Ron_W", sids.get("Ron_W")!, last);
        }
        if (phase === 3) {
          for (let i = 0; i < 5; i++) await direct("Ginny", "Harry", `burst ${i}`);
        }
        if (phase === 4) await capped();
        if (phase === 5) {
          await sockets.settle();
          // Hermione signs in elsewhere: her socket is closed with 4001.
          const old = sockets.get("Hermione")!;
          sids.set("Hermione", await login(server, "Hermione"));
          assert.equal((await old.closed).code, 4001);
          sockets.forget("Hermione");
        }
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, SCRAPE_EVERY_MS - (Date.now() - started)))
        );
        await scrape();
      }
      const delivered = sockets.delivered - deliveredBefore;
      assert.ok(did.limited > 0, "the burst was rate-limited");

      // Every panel's queries over the scrapes, as Grafana would run them.
      const dashboard = await loadDashboard();
      const first = parsed[0];
      const last = parsed.at(-1)!;
      const spanMs = last.at - first.at;
      const results = evaluatePanels(dashboard, scrapes, {
        instance: ".*",
        // Grafana's range: here, exactly the scrapes (windows are left-open).
        __range: `${spanMs + 1}ms`,
      });
      const html = renderDashboardPage(dashboard.title, allPanels(dashboard.panels), results, {
        instance: `All (${instance})`,
        scrapes: scrapes.length,
        spanMs,
        notes: [
          `Traffic: ${did.direct} one-to-one and ${did.topic} topic sends accepted`,
          `${did.badRequests} bad request`,
          `${did.limited} rate-limited (429)`,
          `${did.unavailable} socket refused at the cap (503)`,
          `a resume, a close without status (1005) and a session replaced (4001)`,
          `single node, SQLite store, no Redis`,
        ],
      });

      // Served with a CSP that allows nothing but inline styles: the page
      // is self-contained (a blocked load would show up in page.problems).
      pageServer = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () =>
          new Response(html, {
            headers: {
              "content-type": "text/html; charset=utf-8",
              "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
            },
          }),
      );
      const page = await browser.newPage();
      await page.setViewport(PAGE_WIDTH, 900);
      await page.goto(`http://127.0.0.1:${pageServer.addr.port}/`);
      const height = await page.evaluate<number>(`document.querySelector(".page").offsetHeight`);
      await page.setViewport(PAGE_WIDTH, height);
      assert.equal(await page.evaluate(`document.documentElement.scrollWidth`), PAGE_WIDTH);
      const shown = await page.evaluate<Shown[]>(READ_PANELS);

      // The page shows every panel of the dashboard, in order, each readable.
      const panels = allPanels(dashboard.panels);
      assert.deepEqual(
        shown.map((p) => p.title),
        panels.filter((p) => p.type !== "row").map((p) => p.title),
      );
      assert.deepEqual(
        await page.evaluate(`[...document.querySelectorAll('[data-testid="row"]')]
          .map((row) => row.textContent)`),
        panels.filter((p) => p.type === "row").map((p) => p.title),
      );
      // Nothing cut off: no panel overflows, no title or legend name is truncated.
      for (const panel of shown) assert.deepEqual(panel.overflows, [], `${panel.title} overflows`);
      assert.match(
        (await page.text('[data-testid="caption"]'))!.replace(/\s+/g, " "),
        /^Not Grafana: .* real GET \/metrics scrapes/,
      );

      // What it shows is what was computed, formatted in the panel's unit.
      // Titles repeat across types ("Sockets open" is a stat and a graph).
      const panel = (title: string, type = "timeseries") =>
        shown.find((p) => p.title === title && p.type === type)!;
      for (const [index, computed] of results.entries()) {
        const unit = computed.panel.fieldConfig?.defaults.unit;
        const on = shown[index];
        const rows = computed.panel.type === "stat" ? on.stats : on.legend;
        if (computed.series.length === 0) {
          assert.equal(on.noData, true, `${computed.panel.title} says No data`);
          continue;
        }
        if (computed.series.every((series) => series.last === null)) {
          assert.equal(on.noData, true, `${computed.panel.title} says No data`);
        }
        assert.deepEqual(
          rows.map((row) => row.series),
          computed.series.map((s) => s.name),
          computed.panel.title,
        );
        computed.series.forEach((series, i) => {
          const row = rows[i] as { value?: string; last?: string; text: string };
          assert.equal(row.value ?? row.last, String(series.last), computed.panel.title);
          assert.equal(row.text, formatValue(series.last, unit), computed.panel.title);
        });
      }

      // And what was computed is what the test did and what the raw scrapes say.
      const stat = (title: string, series: string) =>
        Number(panel(title, "stat").stats.find((s) => s.series === series)?.value);
      assert.equal(stat("Messages accepted", "direct"), did.direct);
      assert.equal(stat("Messages accepted", "topic"), did.topic);
      assert.equal(stat("Deliveries", "delivered"), delivered);
      assert.equal(stat("HTTP 5xx", "5xx"), did.unavailable);
      assert.equal(stat("Refusals", "refused"), did.limited + did.unavailable);
      assert.equal(
        panel("HTTP 5xx", "stat").stats[0].color,
        "#F2495C",
        "5xx over the threshold: red",
      );
      assert.equal(stat("Sockets open", "open"), sampleValue(last.families, "im_connections_open"));
      assert.equal(stat("Sockets open", "open"), 3, "Harry's, Ron's and Ginny's");

      const seconds = spanMs / 1000;
      const delta = (name: string, labels: Record<string, string> = {}) =>
        (sampleValue(last.families, name, labels) ?? 0) -
        (sampleValue(first.families, name, labels) ?? 0);
      const legendLast = (title: string, series: string) =>
        Number(panel(title).legend.find((row) => row.series === series)?.last);
      const close = (actual: number, expected: number, what: string) =>
        assert.ok(
          Math.abs(actual - expected) <= 1e-9 * Math.max(1, expected),
          `${what}: ${actual}`,
        );
      for (const kind of ["direct", "topic"]) {
        close(
          legendLast("Messages accepted /s by kind", kind),
          delta("im_messages_accepted_total", { kind }) / seconds,
          kind,
        );
      }
      close(legendLast("Messages accepted /s by kind", "direct"), did.direct / seconds, "direct/s");
      close(legendLast("Deliveries /s", instance), delivered / seconds, "deliveries/s");
      const http = "HTTP requests /s by route and status";
      close(legendLast(http, "/api/messages 400"), did.badRequests / seconds, "400/s");
      close(legendLast(http, "/api/ws 503"), did.unavailable / seconds, "503/s");
      close(legendLast("Refusals /s by reason", "rate_limit"), did.limited / seconds, "429/s");
      close(legendLast("Socket closes /s by code", "4001"), 1 / seconds, "one 4001");
      close(legendLast("Resumes /s by recovered", "recovered=true"), 1 / seconds, "one resume");

      // 5xx series are red and thick (the override); no other series is.
      for (const row of panel(http).legend) {
        const is5xx = / 5\d\d$/.test(row.series);
        assert.equal(row.color === "#F2495C", is5xx, row.series);
        const line = panel(http).lines.find((l) => l.series === row.series)!;
        assert.equal(line.width, is5xx ? "3" : "1", row.series);
      }

      // Quantiles: Prometheus' interpolation over the raw buckets' increase.
      const buckets = (family: string) =>
        last.families.get(family)!.samples.filter((s) => s.name.endsWith("_bucket")).map((s) => ({
          le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le),
          count: s.value - (sampleValue(first.families, s.name, s.labels) ?? 0),
        }));
      const delivery = buckets("im_delivery_seconds");
      assert.equal(delivery.at(-1)!.count, delivered, "one observation per delivery");
      const p50 = legendLast("Delivery latency", "p50");
      const p99 = legendLast("Delivery latency", "p99");
      close(p50, bucketQuantile(0.5, delivery), "p50");
      close(p99, bucketQuantile(0.99, delivery), "p99");
      // Independently: p99 lies in the bucket holding the 99th percentile's rank.
      const rank = 0.99 * delivered;
      const at = delivery.findIndex((bucket) => bucket.count >= rank);
      assert.ok(p99 <= delivery[at].le && p99 >= (at === 0 ? 0 : delivery[at - 1].le), `${p99}`);
      assert.ok(p50 <= p99);
      close(
        legendLast("Event-loop lag p99", instance),
        bucketQuantile(0.99, buckets("im_event_loop_lag_seconds")),
        "lag p99",
      );

      // "No data" only where nothing was observed: histograms without
      // observations in the run (no Redis on a single node).
      const empty = (r: PanelResult) => r.series.every((series) => series.last === null);
      for (const computed of results.filter(empty)) {
        const family = Object.values(computed.queries).join(" ").match(/(im_\w+)_bucket/)?.[1];
        assert.ok(family, `${computed.panel.title} has no data and is not a histogram`);
        assert.equal(delta(`${family}_count`), 0, `${computed.panel.title}: ${family}`);
      }

      assert.deepEqual(page.problems, []);
      if (screenshots) await page.screenshot(SCREENSHOT);
    } finally {
      await pageServer?.shutdown();
      await browser.close();
      await sockets.closeAll();
      assert.equal((await server.stop()).code, 0);
    }
  },
});
