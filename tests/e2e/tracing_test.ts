/**
 * Traces over the wire: with `OTEL_DENO=true` the server exports its spans
 * over OTLP, a send's `im.send` span a child of Deno's own span for the
 * request. The collector here is a small OTLP/HTTP JSON receiver.
 *
 * @module
 */

import assert from "node:assert/strict";
import { eventually, type Json, login, sendDirect } from "./client.ts";
import { TestServer } from "./harness.ts";

interface SpanRecord {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

function spansOf(export_: Json): SpanRecord[] {
  return (export_.resourceSpans ?? []).flatMap((rs: Json) =>
    (rs.scopeSpans ?? []).flatMap((ss: Json) =>
      (ss.spans ?? []).map((span: Json) => ({
        name: span.name,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        attributes: Object.fromEntries(
          (span.attributes ?? []).map((a: Json) => [a.key, Object.values(a.value)[0]]),
        ),
      }))
    )
  );
}

Deno.test("tracing: with OTEL_DENO=true a send is an im.send span inside the request's span", async () => {
  const spans: SpanRecord[] = [];
  await using collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      if (new URL(request.url).pathname === "/v1/traces") {
        spans.push(
          ...spansOf(await request.json()),
        );
      } else await request.body?.cancel();
      return Response.json({});
    },
  );
  await using server = await TestServer.start({}, {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
    OTEL_SERVICE_NAME: "huayi-im-test",
  });
  const harry = await login(server, "Harry");
  assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], "traced")).status, 200);
  await server.stop(); // flushes the exporter
  const send = await eventually(
    () => spans.find((span) => span.name === "im.send"),
    5000,
    "im.send",
  );
  assert.equal(send.attributes["im.kind"], "direct");
  const parent = spans.find((span) => span.spanId === send.parentSpanId);
  assert.ok(parent, `the parent span ${send.parentSpanId} was exported too`);
  assert.equal(parent.traceId, send.traceId);
  assert.ok(!JSON.stringify(spans).includes("traced"), "no message content in spans");
});
