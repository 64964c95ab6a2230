import assert from "node:assert/strict";
import { random } from "../store/agree.ts";
import { api, login } from "./client.ts";
import { TestServer } from "./harness.ts";

// Seeded random requests on every route, with bodies of every shape and
// query strings of every kind: each answer is a JSON object (an error with
// a message, or a result), never a 5xx, and the server is fine afterwards.

const ROUTES: [string, string][] = [
  ["POST", "/api/login"],
  ["POST", "/api/logout"],
  ["GET", "/api/users"],
  ["GET", "/api/topics"],
  ["POST", "/api/topics"],
  ["DELETE", "/api/topics/{topic}"],
  ["POST", "/api/topics/{topic}/actions/join"],
  ["POST", "/api/topics/{topic}/actions/quit"],
  ["POST", "/api/messages"],
  ["GET", "/api/messages"],
  ["GET", "/api/stats"],
  ["POST", "/api/register"],
  ["PUT", "/api/messages"],
];

const ODD_STRINGS = [
  "",
  "Harry",
  "Ron_W",
  "stone",
  "__proto__",
  "constructor",
  "a b",
  "\u0000",
  "\ud800",
  "é".repeat(40),
  "x".repeat(300),
  "-1",
  "1e309",
  "9007199254740993",
  "NaN",
  "../..",
  "%00",
  "%zz",
];

function value(next: () => number, depth = 0): unknown {
  const roll = next();
  if (depth > 3 || roll < 0.3) return ODD_STRINGS[Math.floor(next() * ODD_STRINGS.length)];
  if (roll < 0.4) return [0, -1, 1.5, 1e308, -0, 2 ** 53 + 2][Math.floor(next() * 6)];
  if (roll < 0.5) return [null, true, false][Math.floor(next() * 3)];
  if (roll < 0.7) {
    return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  }
  return body(next, depth + 1);
}

const FIELDS = [
  "username",
  "password",
  "topic",
  "message-type",
  "from",
  "to",
  "content-type",
  "content",
  "__proto__",
];

function body(next: () => number, depth = 0): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const field of FIELDS) {
    if (next() < 0.5) continue;
    // Mostly well-formed values, so the checks past the first get reached.
    fields[field] = next() < 0.5
      ? {
        "message-type": "message",
        "content-type": "text/plain",
        from: "Harry",
        to: ["Ron_W"],
        username: "Harry",
        topic: "stone",
      }[field] ?? value(next, depth)
      : value(next, depth);
  }
  return fields;
}

// Mostly encoded; now and then raw (printable ASCII only), so "%zz" reaches the server as is.
function component(next: () => number): string {
  const text = String(value(next, 4));
  return next() < 0.2
    ? text.replace(/[^\x21-\x7e]|[#?&=\/]/g, "")
    : encodeURIComponent(text.toWellFormed());
}

function query(next: () => number): string {
  const keys = ["before", "after", "limit", "with", "topic", "since", "online", "sid", "x"];
  const parts = keys.filter(() => next() < 0.3).map((key) => `${key}=${component(next)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

Deno.test("fuzz: 600 random requests on every route are JSON answers, never a 5xx", async () => {
  await using server = await TestServer.start();
  // A random login as Harry or a logout ends this session: log in again then.
  let harry = await login(server, "Harry");
  await login(server, "Ron_W");
  const next = random(42);
  const seen = new Map<number, number>();
  for (let i = 0; i < 600; i++) {
    const [method, template] = ROUTES[Math.floor(next() * ROUTES.length)];
    const topic = component(next) || "x";
    const path = template.replace("{topic}", next() < 0.5 ? "stone" : topic) + query(next);
    const roll = next();
    const raw = roll < 0.1
      ? "{not json"
      : roll < 0.15
      ? JSON.stringify(value(next))
      : JSON.stringify(body(next));
    const headers: Record<string, string> = {
      "content-type": next() < 0.9 ? "application/json" : "text/plain",
    };
    if (next() < 0.1) headers["idempotency-key"] = String(value(next, 4)).slice(0, 300);
    const withSession = next() < 0.85;
    const result = await api(server, method, path, {
      sid: withSession ? harry : undefined,
      raw: method === "GET" || method === "DELETE" ? undefined : raw,
      headers,
    }).catch((error) => {
      // fetch itself refuses some header values (a NUL): nothing reached the server.
      if (error instanceof TypeError) return undefined;
      throw error;
    });
    if (!result) continue;
    const what = `${method} ${path} ${raw.slice(0, 120)}`;
    seen.set(result.status, (seen.get(result.status) ?? 0) + 1);
    assert.ok(result.status < 500, `${result.status} for ${what}: ${JSON.stringify(result.body)}`);
    assert.equal(typeof result.body, "object", `not JSON for ${what}`);
    if (result.status >= 400) {
      assert.equal(typeof result.body?.error, "string", `no error message for ${what}`);
    }
    if (withSession && result.status === 401) harry = await login(server, "Harry");
  }
  // The run reached past the first checks: some sends and joins went through.
  assert.ok((seen.get(200) ?? 0) > 20, `statuses: ${JSON.stringify([...seen])}`);
  assert.ok((seen.get(400) ?? 0) > 20, `statuses: ${JSON.stringify([...seen])}`);
  assert.equal((await api(server, "GET", "/api/healthz")).status, 200);
  harry = await login(server, "Harry");
  assert.equal((await api(server, "GET", "/api/stats", { sid: harry })).status, 200);
});
