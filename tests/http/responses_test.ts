import assert from "node:assert/strict";
import { Failure, type FailureKind } from "../../lib/protocol/errors.ts";
import { errorResponse, json, jsonText } from "../../lib/http/responses.ts";
import { StoreUnavailableError } from "../../lib/store/store_error.ts";

// A Record over FailureKind: a kind added without a status here fails to compile.
const EXPECTED: Record<FailureKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  too_many_requests: 429,
  unavailable: 503,
};

Deno.test("http responses: every failure kind has its status and a JSON {error}", async () => {
  for (const [kind, status] of Object.entries(EXPECTED)) {
    const response = errorResponse(new Failure(kind as FailureKind, `why ${kind}`))!;
    assert.equal(response.status, status, kind);
    assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await response.json(), { error: `why ${kind}` });
    assert.equal(response.headers.get("retry-after"), null, kind);
    assert.equal(response.headers.get("allow"), null, kind);
  }
});

Deno.test("http responses: Retry-After and Allow come from the failure", () => {
  const limited = errorResponse(
    new Failure("too_many_requests", "slow down", { retryAfterSeconds: 3, reason: "rate_limit" }),
  )!;
  assert.equal(limited.headers.get("retry-after"), "3");
  const method = errorResponse(
    new Failure("method_not_allowed", "no", { allow: ["GET", "POST"] }),
  )!;
  assert.equal(method.status, 405);
  assert.equal(method.headers.get("allow"), "GET, POST");
});

Deno.test("http responses: a store outage is a 503 that says whether to retry with the key", async () => {
  const notApplied = errorResponse(new StoreUnavailableError("not_applied", "down"))!;
  assert.equal(notApplied.status, 503);
  assert.equal(notApplied.headers.get("retry-after"), "1");
  assert.match((await notApplied.json()).error, /nothing was done/);
  const unknown = errorResponse(new StoreUnavailableError("unknown", "timed out"))!;
  assert.equal(unknown.status, 503);
  assert.match((await unknown.json()).error, /same Idempotency-Key/);
});

Deno.test("http responses: an error that is not a refusal has no response (the caller answers 500)", () => {
  assert.equal(errorResponse(new TypeError("a bug")), undefined);
  assert.equal(errorResponse("a string"), undefined);
});

Deno.test("http responses: json encodes, jsonText passes text through, extra headers kept", async () => {
  const encoded = json(201, { a: [1, "é"] }, { "x-extra": "1" });
  assert.equal(encoded.status, 201);
  assert.equal(encoded.headers.get("x-extra"), "1");
  assert.equal(encoded.headers.get("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(await encoded.json(), { a: [1, "é"] });
  assert.equal(
    await jsonText(200, '{"list":[],"has-more":false}').text(),
    '{"list":[],"has-more":false}',
  );
});
