import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import {
  importHmacKey,
  MAX_TOKEN_LENGTH,
  signJwt,
  verifyJwt,
  type VerifyJwtOptions,
} from "../../lib/auth/jwt.ts";

const SECRET = "test secret shared with the app backend";
const NOW = Date.UTC(2030, 0, 1); // ms
const NOW_S = NOW / 1000;
const AT_NOW: VerifyJwtOptions = { now: NOW };

function b64url(text: string | Uint8Array): string {
  return Buffer.from(text).toString("base64url");
}

/** An HS256 token built without the module under test: node:crypto's HMAC and Buffer's base64url. */
function independentToken(
  header: unknown,
  payload: unknown,
  secret: string | Uint8Array = SECRET,
): string {
  const h = b64url(typeof header === "string" ? header : JSON.stringify(header));
  const p = b64url(typeof payload === "string" ? payload : JSON.stringify(payload));
  return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function nextChar(char: string): string {
  return BASE64URL_ALPHABET[BASE64URL_ALPHABET.indexOf(char) + 1];
}

const HS256 = { alg: "HS256", typ: "JWT" };
const GOOD_CLAIMS = { sub: "alice", exp: NOW_S + 60 };

async function reasonOf(token: string, options: VerifyJwtOptions = AT_NOW): Promise<string> {
  const result = await verifyJwt(token, SECRET, options);
  return result.ok ? "ok" : result.reason;
}

Deno.test("jwt: a good token verifies and returns all its claims", async () => {
  const key = await importHmacKey(SECRET);
  const token = await signJwt({ ...GOOD_CLAIMS, role: "admin", iat: NOW_S }, key);
  const result = await verifyJwt(token, key, { now: NOW, expectedSubject: "alice" });
  assert.deepEqual(result, {
    ok: true,
    claims: { sub: "alice", exp: NOW_S + 60, role: "admin", iat: NOW_S },
  });
});

Deno.test("jwt: signJwt matches a token computed independently with node:crypto createHmac", async () => {
  const claims = { sub: "小明", exp: NOW_S + 60, note: "ünïcödé 🔐" };
  const ours = await signJwt(claims, SECRET);
  assert.equal(ours, independentToken(HS256, claims));
  assert.equal((await verifyJwt(independentToken(HS256, claims), SECRET, AT_NOW)).ok, true);
});

Deno.test("jwt: the same secret as a string or as an imported key gives the same results", async () => {
  const key = await importHmacKey(SECRET);
  const token = independentToken(HS256, GOOD_CLAIMS);
  assert.deepEqual(await verifyJwt(token, key, AT_NOW), await verifyJwt(token, SECRET, AT_NOW));
  assert.equal(await signJwt(GOOD_CLAIMS, key), await signJwt(GOOD_CLAIMS, SECRET));
});

Deno.test("jwt: the RFC 7515 appendix A.1 example verifies with its binary key", async () => {
  const k =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
  const key = await crypto.subtle.importKey(
    "raw",
    Buffer.from(k, "base64url"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  // The example has no `sub`: the signature and `exp` pass, and the subject check is what fails.
  assert.deepEqual(await verifyJwt(token, key, { now: 1300819370_000 }), {
    ok: false,
    reason: "missing_sub",
  });
  assert.deepEqual(await verifyJwt(token, key, { now: 1300819390_000 }), {
    ok: false,
    reason: "expired",
  });
  const tampered = token.slice(0, -1) + "Y";
  assert.deepEqual(await verifyJwt(tampered, key, { now: 1300819370_000 }), {
    ok: false,
    reason: "bad_signature",
  });
});

Deno.test("jwt: a tampered payload with the original signature is bad_signature", async () => {
  const [header, , signature] = (await signJwt(GOOD_CLAIMS, SECRET)).split(".");
  const forged = b64url(JSON.stringify({ ...GOOD_CLAIMS, sub: "mallory" }));
  assert.equal(await reasonOf(`${header}.${forged}.${signature}`), "bad_signature");
});

Deno.test("jwt: a token signed with another secret is bad_signature", async () => {
  assert.equal(
    await reasonOf(independentToken(HS256, GOOD_CLAIMS, "another secret")),
    "bad_signature",
  );
  assert.equal(await reasonOf(independentToken(HS256, GOOD_CLAIMS, SECRET + " ")), "bad_signature");
});

Deno.test("jwt: a signature of the wrong length is bad_signature", async () => {
  const [header, payload, signature] = independentToken(HS256, GOOD_CLAIMS).split(".");
  const bytes = Buffer.from(signature, "base64url");
  for (const other of [bytes.subarray(0, 31), Buffer.concat([bytes, Buffer.from([0])]), []]) {
    const token = `${header}.${payload}.${b64url(Uint8Array.from(other))}`;
    assert.equal(await reasonOf(token), "bad_signature");
  }
});

Deno.test("jwt: alg none with an empty signature is refused as unsupported_alg", async () => {
  const none = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${
    b64url(JSON.stringify(GOOD_CLAIMS))
  }.`;
  assert.equal(await reasonOf(none), "unsupported_alg");
});

Deno.test("jwt: every alg other than exactly HS256 is refused, even with a valid HMAC", async () => {
  for (const alg of ["none", "None", "HS512", "HS384", "RS256", "ES256", "hs256", "HS256 ", ""]) {
    assert.equal(await reasonOf(independentToken({ alg }, GOOD_CLAIMS)), "unsupported_alg", alg);
  }
  for (const header of [{}, { typ: "JWT" }, { alg: ["HS256"] }, { alg: null }, { alg: 256 }]) {
    const token = independentToken(header, GOOD_CLAIMS);
    assert.equal(await reasonOf(token), "unsupported_alg", JSON.stringify(header));
  }
});

Deno.test("jwt: a key imported for another hash is a programming error, not a verdict", async () => {
  const sha512 = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-512" },
    false,
    ["sign", "verify"],
  );
  const token = independentToken(HS256, GOOD_CLAIMS);
  await assert.rejects(verifyJwt(token, sha512, AT_NOW), TypeError);
  await assert.rejects(verifyJwt("not even a token", sha512, AT_NOW), TypeError);
  await assert.rejects(signJwt(GOOD_CLAIMS, sha512), TypeError);
});

Deno.test("jwt: an empty secret is refused at import and at use", async () => {
  await assert.rejects(importHmacKey(""), RangeError);
  await assert.rejects(verifyJwt(independentToken(HS256, GOOD_CLAIMS), "", AT_NOW), RangeError);
  await assert.rejects(signJwt(GOOD_CLAIMS, ""), RangeError);
});

Deno.test("jwt: a crit header is refused as unsupported_header", async () => {
  const token = independentToken({ ...HS256, crit: ["exp"] }, GOOD_CLAIMS);
  assert.equal(await reasonOf(token), "unsupported_header");
});

Deno.test("jwt: tokens that are not three strict base64url segments are malformed", async () => {
  const good = independentToken(HS256, GOOD_CLAIMS);
  assert.equal(await reasonOf(good), "ok");
  const [h, p, s] = good.split(".");
  const cases = {
    "empty": "",
    "one segment": h,
    "two segments": `${h}.${p}`,
    "four segments": `${good}.${s}`,
    "padding": `${h}.${p}.${Buffer.from(s, "base64url").toString("base64")}`,
    "standard alphabet": `${h}.${p}.${s.replaceAll("-", "+").replaceAll("_", "/")}+`,
    "whitespace": `${h}.${p.slice(0, 4)} ${p.slice(4)}.${s}`,
    "newline": `${h}\n.${p}.${s}`,
    "length 1 mod 4": `${h}.${p}.${s}AA`, // 43 + 2: no byte string encodes to that length
    // The last of 43 characters carries 4 bits and 2 unused ones that must be zero; setting one
    // would give a second spelling of the same signature.
    "non-canonical final character": `${h}.${p}.${s.slice(0, -1)}${nextChar(s.at(-1)!)}`,
    "non-ASCII": `${h}.${p}.${s}é`,
  };
  for (const [name, token] of Object.entries(cases)) {
    assert.equal(await reasonOf(token), "malformed", name);
  }
});

Deno.test("jwt: a header or payload that is not a JSON object is malformed", async () => {
  for (const header of ["not json", "[]", "null", '"HS256"', "42", '{"alg":"HS256"'] as const) {
    assert.equal(await reasonOf(independentToken(header, GOOD_CLAIMS)), "malformed", header);
  }
  // Correctly signed, so the verdict is about the payload, not the signature.
  for (const payload of ["not json", "[]", "null", '"alice"', "42", "", "\uFEFF{}"]) {
    assert.equal(await reasonOf(independentToken(HS256, payload)), "malformed", payload);
  }
  const invalidUtf8 = new Uint8Array([0x7b, 0xff, 0x7d]); // "{", an invalid byte, "}"
  const h = b64url(invalidUtf8);
  const p = b64url(JSON.stringify(GOOD_CLAIMS));
  const token = `${h}.${p}.${createHmac("sha256", SECRET).update(`${h}.${p}`).digest("base64url")}`;
  assert.equal(await reasonOf(token), "malformed");
});

Deno.test("jwt: tokens over MAX_TOKEN_LENGTH are too_long before any other check", async () => {
  const fits = async (padding: number) =>
    await signJwt({ ...GOOD_CLAIMS, pad: "x".repeat(padding) }, SECRET);
  const base = (await fits(0)).length;
  // Base64url grows by 4/3, so step the padding until the token lands exactly on the limit.
  let padding = Math.floor((MAX_TOKEN_LENGTH - base) * 3 / 4);
  while ((await fits(padding + 1)).length <= MAX_TOKEN_LENGTH) padding++;
  const longest = await fits(padding);
  assert.ok(longest.length <= MAX_TOKEN_LENGTH && longest.length > MAX_TOKEN_LENGTH - 4);
  assert.equal(await reasonOf(longest), "ok");
  assert.equal(await reasonOf(await fits(padding + 1)), "too_long");
  assert.equal(await reasonOf("x".repeat(MAX_TOKEN_LENGTH + 1)), "too_long");
  assert.equal(await reasonOf("x".repeat(MAX_TOKEN_LENGTH)), "malformed");
});

Deno.test("jwt: exp is required, must be a finite number, and must be in the future", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ sub: "alice" }, "missing_exp"],
    [{ sub: "alice", exp: String(NOW_S + 60) }, "malformed"],
    [{ sub: "alice", exp: null }, "malformed"],
    [{ sub: "alice", exp: NOW_S - 3600 }, "expired"],
    [{ sub: "alice", exp: NOW_S + 0.5 }, "ok"],
  ];
  for (const [claims, reason] of cases) {
    assert.equal(await reasonOf(independentToken(HS256, claims)), reason, JSON.stringify(claims));
  }
  // JSON.parse reads 1e999 as Infinity: a token that would never expire.
  const forever = independentToken(HS256, '{"sub":"alice","exp":1e999}');
  assert.equal(await reasonOf(forever), "malformed");
});

Deno.test("jwt: clock skew is tolerated on exp, on both sides of the boundary", async () => {
  const at = (offset: number, skewSeconds?: number) =>
    reasonOf(independentToken(HS256, { sub: "alice", exp: NOW_S + offset }), {
      now: NOW,
      skewSeconds,
    });
  assert.equal(await at(1), "ok");
  assert.equal(await at(0), "ok", "exp = now is within the default skew");
  assert.equal(await at(-4.999), "ok");
  assert.equal(await at(-5), "expired", "expired once now reaches exp + skew");
  assert.equal(await at(-6), "expired");
  assert.equal(await at(0, 0), "expired", "without skew, a token is expired at exp");
  assert.equal(await at(0.001, 0), "ok");
  assert.equal(await at(-59, 60), "ok");
  assert.equal(await at(-60, 60), "expired");
});

Deno.test("jwt: nbf is honoured when present, with the same skew", async () => {
  const at = (nbf: unknown, skewSeconds?: number) =>
    reasonOf(independentToken(HS256, { ...GOOD_CLAIMS, nbf }), { now: NOW, skewSeconds });
  assert.equal(await at(NOW_S - 60), "ok");
  assert.equal(await at(NOW_S + 5), "ok", "nbf up to now + skew is accepted");
  assert.equal(await at(NOW_S + 5.001), "not_yet_valid");
  assert.equal(await at(NOW_S + 3600), "not_yet_valid");
  assert.equal(await at(NOW_S + 1, 0), "not_yet_valid");
  assert.equal(await at(NOW_S, 0), "ok");
  assert.equal(await at(String(NOW_S)), "malformed");
  assert.equal(await at(null), "malformed");
});

Deno.test("jwt: sub is required, must be a string, and must equal expectedSubject", async () => {
  const withSub = (sub: unknown) => independentToken(HS256, { exp: NOW_S + 60, sub });
  const expectAlice = { now: NOW, expectedSubject: "alice" };
  assert.equal(await reasonOf(withSub("alice"), expectAlice), "ok");
  assert.equal(await reasonOf(withSub("bob"), expectAlice), "wrong_subject");
  assert.equal(await reasonOf(withSub("Alice"), expectAlice), "wrong_subject");
  assert.equal(await reasonOf(withSub("alice "), expectAlice), "wrong_subject");
  assert.equal(await reasonOf(withSub(42), expectAlice), "malformed");
  assert.equal(await reasonOf(withSub(["alice"]), expectAlice), "malformed");
  assert.equal(await reasonOf(independentToken(HS256, { exp: NOW_S + 60 })), "missing_sub");
  assert.equal(await reasonOf(withSub("bob")), "ok", "any subject without expectedSubject");
});

Deno.test("jwt: the signature is checked before the claims", async () => {
  const expiredAndForged = independentToken(HS256, { exp: NOW_S - 3600 }, "another secret");
  assert.equal(await reasonOf(expiredAndForged), "bad_signature");
});

Deno.test("jwt: a clock or skew that is not a number is a programming error", async () => {
  const token = independentToken(HS256, GOOD_CLAIMS);
  await assert.rejects(verifyJwt(token, SECRET, { now: NaN }), RangeError);
  await assert.rejects(verifyJwt(token, SECRET, { now: NOW, skewSeconds: -1 }), RangeError);
  await assert.rejects(verifyJwt(token, SECRET, { now: NOW, skewSeconds: NaN }), RangeError);
});

Deno.test("jwt: without options the real clock is used", async () => {
  const exp = Math.floor(Date.now() / 1000);
  assert.equal(await reasonOf(independentToken(HS256, { sub: "a", exp: exp + 60 }), {}), "ok");
  assert.equal(await reasonOf(independentToken(HS256, { sub: "a", exp: exp - 60 }), {}), "expired");
});
