/**
 * HS256 JSON Web Tokens (RFC 7519), verified strictly enough for login: the
 * application's backend signs a short-lived token for a user with a secret it
 * shares with this server, and the server checks it without calling back.
 *
 * Only `HS256` is accepted. A verifier that trusts the token's own `alg`
 * header can be talked into `none` or into using a public key as an HMAC
 * secret; fixing the algorithm here, and checking that the key is an HMAC
 * SHA-256 key, rules both out.
 *
 * @module
 */

/**
 * Tokens longer than this (8 KiB) are refused before any decoding or hashing.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_TOKEN_LENGTH, verifyJwt } from "./jwt.ts";
 *
 * const result = await verifyJwt("x".repeat(MAX_TOKEN_LENGTH + 1), "secret");
 * assert.deepEqual(result, { ok: false, reason: "too_long" });
 * ```
 */
export const MAX_TOKEN_LENGTH = 8192;

/**
 * The clock skew tolerated on `exp` and `nbf` unless the caller says otherwise.
 *
 * @example A token that expired a moment ago on the issuer's clock still passes
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SKEW_SECONDS, signJwt, verifyJwt } from "./jwt.ts";
 *
 * const now = Date.UTC(2030, 0, 1);
 * const exp = now / 1000 - DEFAULT_SKEW_SECONDS + 1;
 * const token = await signJwt({ sub: "alice", exp }, "secret");
 * assert.equal((await verifyJwt(token, "secret", { now })).ok, true);
 * assert.equal((await verifyJwt(token, "secret", { now, skewSeconds: 0 })).ok, false);
 * ```
 */
export const DEFAULT_SKEW_SECONDS = 5;

/** A shared secret as a string (its UTF-8 bytes are the key) or a key from {@linkcode importHmacKey}. */
export type JwtKey = CryptoKey | string;

/** The claims of a verified token: `sub` and `exp` are always present and well typed. */
export interface JwtClaims {
  /** The subject: for login, the username. */
  sub: string;
  /** Expiry, in seconds since the epoch. */
  exp: number;
  /** Not valid before this time, in seconds since the epoch, when present. */
  nbf?: number;
  /** Any other claims, as the issuer wrote them. */
  [claim: string]: unknown;
}

/**
 * Why a token was refused.
 *
 * - `too_long`: longer than {@linkcode MAX_TOKEN_LENGTH}.
 * - `malformed`: not three strict base64url segments, header or payload not a JSON object, or a
 *   registered claim of the wrong type (`exp`, `nbf` not finite numbers, `sub` not a string).
 * - `unsupported_alg`: the header's `alg` is not exactly `HS256`.
 * - `unsupported_header`: the header has `crit`, which names extensions this verifier cannot
 *   honour (RFC 7515 section 4.1.11 requires refusing them).
 * - `bad_signature`: the HMAC does not match.
 * - `missing_exp`, `expired`, `not_yet_valid`: the `exp` and `nbf` checks.
 * - `missing_sub`, `wrong_subject`: the `sub` checks.
 */
export type JwtFailureReason =
  | "too_long"
  | "malformed"
  | "unsupported_alg"
  | "unsupported_header"
  | "bad_signature"
  | "missing_exp"
  | "expired"
  | "not_yet_valid"
  | "missing_sub"
  | "wrong_subject";

/** The outcome of {@linkcode verifyJwt}. */
export type VerifyJwtResult =
  | { ok: true; claims: JwtClaims }
  | { ok: false; reason: JwtFailureReason };

/** Options for {@linkcode verifyJwt}. */
export interface VerifyJwtOptions {
  /** The current time in milliseconds since the epoch. Defaults to `Date.now()`. */
  now?: number;
  /** Seconds of clock difference tolerated on `exp` and `nbf`. Defaults to 5. */
  skewSeconds?: number;
  /** When given, `sub` must equal it exactly. */
  expectedSubject?: string;
}

const HMAC_SHA256 = { name: "HMAC", hash: "SHA-256" } as const;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Imports a shared secret, as the UTF-8 bytes of `secret`, for signing and verifying.
 *
 * Import once and reuse the key: passing the string to {@linkcode verifyJwt} imports it again on
 * every call.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { importHmacKey } from "./jwt.ts";
 *
 * const key = await importHmacKey("a long random secret shared with the app backend");
 * assert.equal(key.algorithm.name, "HMAC");
 * assert.equal(key.extractable, false);
 * ```
 *
 * @param secret The shared secret; must not be empty.
 * @returns A non-extractable HMAC SHA-256 key usable for `sign` and `verify`.
 * @throws {RangeError} When `secret` is empty: anyone could forge tokens for an empty key.
 */
export async function importHmacKey(secret: string): Promise<CryptoKey> {
  checkKey(secret);
  return await crypto.subtle.importKey("raw", encoder.encode(secret), HMAC_SHA256, false, [
    "sign",
    "verify",
  ]);
}

/**
 * Signs `claims` as an HS256 JWT with header `{"alg":"HS256","typ":"JWT"}`.
 *
 * This is what an application backend does to let one of its users log in; the claims are
 * written as given, so it is up to the caller to include `sub` and a near `exp`.
 *
 * @example Issuing a login token valid for one minute
 * ```ts
 * import assert from "node:assert/strict";
 * import { importHmacKey, signJwt } from "./jwt.ts";
 *
 * const key = await importHmacKey("a long random secret shared with the app backend");
 * const exp = Math.floor(Date.now() / 1000) + 60;
 * const token = await signJwt({ sub: "alice", exp }, key);
 * assert.equal(token.split(".").length, 3);
 * ```
 *
 * @param claims The payload, serialised with `JSON.stringify`.
 * @param key The shared secret or an imported key.
 * @returns The compact serialisation `header.payload.signature`.
 * @throws {RangeError} When `key` is an empty string.
 * @throws {TypeError} When `key` is a `CryptoKey` other than an HMAC SHA-256 key.
 */
export async function signJwt(claims: Record<string, unknown>, key: JwtKey): Promise<string> {
  const cryptoKey = await resolveKey(key);
  const header = encodeSegment(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = encodeSegment(encoder.encode(JSON.stringify(claims)));
  const signingInput = `${header}.${payload}`;
  const signature = await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(signingInput));
  return `${signingInput}.${encodeSegment(new Uint8Array(signature))}`;
}

/**
 * Verifies an HS256 JWT and its `exp`, `nbf` and `sub` claims.
 *
 * The checks run in this order, and the first failure is the reason: length, syntax of the three
 * segments and the header, `alg`, `crit`, signature, then the payload and its claims. The payload
 * is parsed only once the signature holds, so a forger learns nothing about which claims would
 * have been accepted. The signature is compared by `crypto.subtle.verify`, in constant time.
 *
 * `exp` is required: a token is expired once `now` reaches `exp + skewSeconds`. A present `nbf`
 * must be at most `now + skewSeconds`. `sub` is required and must be a string. Duplicate JSON
 * keys are not rejected; the last one wins, as RFC 7519 allows.
 *
 * @example Verifying a login token
 * ```ts
 * import assert from "node:assert/strict";
 * import { importHmacKey, signJwt, verifyJwt } from "./jwt.ts";
 *
 * const key = await importHmacKey("a long random secret shared with the app backend");
 * const token = await signJwt({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 60 }, key);
 *
 * const result = await verifyJwt(token, key, { expectedSubject: "alice" });
 * assert.ok(result.ok);
 * assert.equal(result.claims.sub, "alice");
 *
 * assert.deepEqual(await verifyJwt(token, key, { expectedSubject: "bob" }), {
 *   ok: false,
 *   reason: "wrong_subject",
 * });
 * assert.deepEqual(await verifyJwt(token, "another secret"), {
 *   ok: false,
 *   reason: "bad_signature",
 * });
 * ```
 *
 * @param token The compact serialisation, as the client sent it.
 * @param key The shared secret or an imported key.
 * @param options The clock, the skew and the expected subject.
 * @returns The claims, or why the token was refused.
 * @throws {RangeError} When `key` is an empty string, `now` is not finite, or `skewSeconds` is
 * negative or not finite (every comparison with NaN is false, which would pass an expired token).
 * @throws {TypeError} When `key` is a `CryptoKey` other than an HMAC SHA-256 key.
 */
export async function verifyJwt(
  token: string,
  key: JwtKey,
  options: VerifyJwtOptions = {},
): Promise<VerifyJwtResult> {
  const { now = Date.now(), skewSeconds = DEFAULT_SKEW_SECONDS, expectedSubject } = options;
  if (!Number.isFinite(now)) throw new RangeError(`now must be a finite number, got ${now}`);
  if (!(Number.isFinite(skewSeconds) && skewSeconds >= 0)) {
    throw new RangeError(`skewSeconds must be a non-negative number, got ${skewSeconds}`);
  }
  // Before looking at the token, so that a misconfigured key fails on the first call rather
  // than on the first token that happens to be well formed.
  checkKey(key);

  if (token.length > MAX_TOKEN_LENGTH) return refuse("too_long");
  const segments = token.split(".");
  if (segments.length !== 3) return refuse("malformed");
  const [headerSegment, payloadSegment, signatureSegment] = segments;
  const header = parseJsonObject(decodeSegment(headerSegment));
  const payloadBytes = decodeSegment(payloadSegment);
  const signature = decodeSegment(signatureSegment);
  if (header === undefined || payloadBytes === undefined || signature === undefined) {
    return refuse("malformed");
  }
  if (header.alg !== "HS256") return refuse("unsupported_alg");
  if (Object.hasOwn(header, "crit")) return refuse("unsupported_header");

  const signingInput = encoder.encode(`${headerSegment}.${payloadSegment}`);
  const cryptoKey = await resolveKey(key);
  if (!await crypto.subtle.verify("HMAC", cryptoKey, signature, signingInput)) {
    return refuse("bad_signature");
  }

  const claims = parseJsonObject(payloadBytes);
  if (claims === undefined) return refuse("malformed");
  return checkClaims(claims, now, skewSeconds, expectedSubject);
}

function checkClaims(
  claims: Record<string, unknown>,
  now: number,
  skewSeconds: number,
  expectedSubject: string | undefined,
): VerifyJwtResult {
  const { exp, nbf, sub } = claims;
  if (exp === undefined) return refuse("missing_exp");
  // JSON.parse turns 1e999 into Infinity, a token that would never expire.
  if (!isFiniteNumber(exp)) return refuse("malformed");
  if (nbf !== undefined && !isFiniteNumber(nbf)) return refuse("malformed");
  if (sub !== undefined && typeof sub !== "string") return refuse("malformed");
  if (now >= (exp + skewSeconds) * 1000) return refuse("expired");
  if (nbf !== undefined && now < (nbf - skewSeconds) * 1000) return refuse("not_yet_valid");
  if (sub === undefined) return refuse("missing_sub");
  if (expectedSubject !== undefined && sub !== expectedSubject) return refuse("wrong_subject");
  return { ok: true, claims: claims as JwtClaims };
}

function refuse(reason: JwtFailureReason): VerifyJwtResult {
  return { ok: false, reason };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

async function resolveKey(key: JwtKey): Promise<CryptoKey> {
  checkKey(key);
  return typeof key === "string" ? await importHmacKey(key) : key;
}

// `crypto.subtle.verify("HMAC", ...)` uses whatever hash the key was imported with; an HMAC
// SHA-512 key would make this verifier accept HS512 signatures under an HS256 header.
function checkKey(key: JwtKey): void {
  if (typeof key === "string") {
    if (key.length === 0) throw new RangeError("the HMAC secret must not be empty");
    return;
  }
  const algorithm = key.algorithm as Partial<HmacKeyAlgorithm>;
  if (algorithm.name !== "HMAC" || algorithm.hash?.name !== "SHA-256") {
    throw new TypeError("the key must be an HMAC SHA-256 key, as from importHmacKey()");
  }
}

function encodeSegment(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

// Strict: the base64url alphabet only (no padding, no whitespace, which `fromBase64` would
// skip), and zero unused bits in the last character, so each byte string has one encoding.
function decodeSegment(segment: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64URL.test(segment)) return undefined;
  const padded = segment + "=".repeat((4 - segment.length % 4) % 4);
  try {
    return Uint8Array.fromBase64(padded, { alphabet: "base64url", lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

function parseJsonObject(bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}
