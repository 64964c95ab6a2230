/**
 * Operations over the wire: `GET /metrics` as Prometheus reads it, counters
 * moving as messages flow, and JSON log lines.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseExposition, sampleValue } from "../telemetry/exposition_parser.ts";
import { api, eventually, login, sendDirect, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

async function scrape(server: TestServer) {
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4");
  const text = await response.text();
  return { text, families: parseExposition(text) };
}

Deno.test("metrics: a valid exposition whose counters move as messages flow", async () => {
  await using server = await TestServer.start();
  const before = (await scrape(server)).families;
  for (
    const name of [
      "im_connections_open",
      "im_connections_accepted_total",
      "im_messages_accepted_total",
      "im_messages_delivered_total",
      "im_socket_closes_total",
      "im_mailbox_entries",
      "im_store_commit_seconds",
      "im_delivery_seconds",
      "im_http_requests_total",
      "im_refusals_total",
      "im_resumes_total",
      "im_event_loop_lag_seconds",
    ]
  ) {
    assert.ok(before.has(name), `family ${name}`);
  }
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quidditch" } });
  await api(server, "POST", "/api/topics/quidditch/actions/join", { sid: ron });
  const socket = await TestSocket.open(server, ron, { since: 0 });
  await socket.next();
  for (let i = 0; i < 3; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `d${i}`);
  await sendTopic(server, harry, "Harry", "quidditch", "t");
  await socket.take(4);
  assert.equal((await sendDirect(server, harry, "Harry", ["x"], "bad")).status, 400);
  await socket.close();
  const { text, families } = await eventually(async () => {
    const now = await scrape(server);
    const lagMeasured = (sampleValue(now.families, "im_event_loop_lag_seconds_count") ?? 0) > 0;
    return sampleValue(now.families, "im_connections_open") === 0 && lagMeasured ? now : undefined;
  });
  const value = (name: string, labels: Record<string, string> = {}) =>
    sampleValue(families, name, labels);
  assert.equal(value("im_messages_accepted_total", { kind: "direct" }), 3);
  assert.equal(value("im_messages_accepted_total", { kind: "topic" }), 1);
  assert.equal(value("im_messages_delivered_total"), 4);
  assert.equal(value("im_connections_accepted_total"), 1);
  const closes = families.get("im_socket_closes_total")!.samples;
  assert.deepEqual(closes.map((sample) => sample.value), [1], "one close, by the client's code");
  assert.match(closes[0].labels.code, /^(1000|1005)$/);
  assert.equal(value("im_resumes_total", { recovered: "true" }), 1);
  assert.equal(value("im_delivery_seconds_count"), 4);
  assert.equal(value("im_mailbox_entries"), 8, "4 of Ron's, 4 of Harry's own copies");
  assert.equal(value("im_http_requests_total", { route: "/api/messages", status: "200" }), 4);
  assert.equal(value("im_http_requests_total", { route: "/api/messages", status: "400" }), 1);
  assert.equal(value("im_http_requests_total", { route: "/api/login", status: "200" }), 2);
  assert.doesNotMatch(text, /Harry|Ron_W|quidditch/, "no username or topic in any label");
});

Deno.test("metrics: refusals are counted by reason", async () => {
  await using server = await TestServer.start({ "rate-messages": 1, "mailbox-max": 2 });
  const harry = await login(server, "Harry");
  const statuses = [];
  for (let i = 0; i < 13; i++) {
    statuses.push((await sendDirect(server, harry, "Harry", [`user_${i % 4}`], "x")).status);
  }
  const { families } = await scrape(server);
  const refused = (reason: string) => sampleValue(families, "im_refusals_total", { reason }) ?? 0;
  assert.equal(
    refused("rate_limit"),
    statuses.filter((s) => s === 429).length - refused("mailbox_full"),
  );
  assert.ok(refused("mailbox_full") > 0, `${statuses}`);
  assert.ok(refused("rate_limit") > 0, `${statuses}`);
});

Deno.test("metrics: IM_METRICS=off makes /metrics 404", async () => {
  await using server = await TestServer.start({ metrics: "off" });
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 404);
  assert.equal(typeof (await response.json()).error, "string");
});

Deno.test("logs: IM_LOG_FORMAT=json writes one parseable object per line; IM_LOG_LEVEL filters", async () => {
  await using server = await TestServer.start({ "log-format": "json" });
  const harry = await login(server, "Harry");
  await api(server, "POST", "/api/logout", { sid: harry });
  await eventually(() => server.log.some((line) => line.includes('"logout"')));
  const events = server.log.filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
  for (const event of events) {
    assert.equal(typeof event.time, "string");
    assert.ok(!Number.isNaN(Date.parse(event.time)));
    assert.ok(["debug", "info", "warn", "error"].includes(event.level), event.level);
    assert.equal(typeof event.event, "string");
  }
  assert.deepEqual(
    events.filter((e) => e.event === "login").map((e) => [e.user, e.replaced]),
    [["Harry", false]],
  );
  await using quiet = await TestServer.start({ "log-format": "json", "log-level": "warn" });
  await login(quiet, "Harry");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(quiet.log.filter((line) => line.includes('"login"')), [], "info is dropped");
});
