/**
 * Password hashing with salted scrypt, stored as one self-describing string:
 *
 * ```text
 * scrypt$16384$8$1$<salt, base64>$<key, base64>
 * ```
 *
 * The cost parameters travel with each hash, so raising them later only changes new hashes; old
 * ones still verify with the parameters they were made with.
 *
 * Passwords are normalised to Unicode NFC before hashing (as the OpaqueString profile of RFC 8265
 * does), so "é" typed as one code point or as "e" plus a combining accent is the same password.
 *
 * @module
 */

import { scrypt, timingSafeEqual } from "node:crypto";

/**
 * The fewest characters (code points, after NFC) a password may have.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { PASSWORD_MIN_LENGTH, validatePassword } from "./password.ts";
 *
 * assert.equal(validatePassword("x".repeat(PASSWORD_MIN_LENGTH)), undefined);
 * assert.notEqual(validatePassword("x".repeat(PASSWORD_MIN_LENGTH - 1)), undefined);
 * ```
 */
export const PASSWORD_MIN_LENGTH = 8;

/**
 * The most characters (code points, after NFC) a password may have.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { PASSWORD_MAX_LENGTH, validatePassword } from "./password.ts";
 *
 * assert.equal(validatePassword("🔐".repeat(PASSWORD_MAX_LENGTH)), undefined);
 * assert.notEqual(validatePassword("🔐".repeat(PASSWORD_MAX_LENGTH + 1)), undefined);
 * ```
 */
export const PASSWORD_MAX_LENGTH = 256;

// N = 2^14, r = 8, p = 1: the interactive-login parameters of the scrypt paper and RFC 7914,
// 16 MiB and some tens of milliseconds per hash.
const COST = 16384;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// The most work a stored string may ask for, as 128·N·r·p (the memory of one lane times the
// lanes): 16 times what hashPassword spends today, so the parameters can be raised (to OWASP's
// N = 2^17, say), yet a corrupted row cannot make one login take seconds or gigabytes.
const MAX_WORK = 256 * 1024 * 1024;
const MIN_SALT_BYTES = 8;
const MIN_KEY_BYTES = 16;
const MAX_FIELD_BYTES = 64;

const encoder = new TextEncoder();
const DECIMAL = /^[1-9][0-9]{0,9}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A stored hash that matches no password: its key is 32 zero bytes, and finding a password that
 * scrypt maps to it would be a preimage attack on scrypt. Verifying against it costs what
 * verifying a real hash costs, so a login for an unknown user can take the same time as a login
 * with a wrong password.
 *
 * @example An unknown user costs the same as a wrong password
 * ```ts
 * import assert from "node:assert/strict";
 * import { DUMMY_PASSWORD_HASH, verifyPassword } from "./password.ts";
 *
 * const users = new Map<string, string>(); // username -> stored hash
 * const stored = users.get("nobody");
 * const ok = await verifyPassword("a guess at a password", stored ?? DUMMY_PASSWORD_HASH);
 * assert.equal(ok && stored !== undefined, false);
 * ```
 */
export const DUMMY_PASSWORD_HASH: string = format(
  { cost: COST, blockSize: BLOCK_SIZE, parallelism: PARALLELISM },
  new Uint8Array(SALT_BYTES),
  new Uint8Array(KEY_BYTES),
);

/**
 * Checks a new password against the contract's rules: 8 to 256 characters, counted as Unicode
 * code points after NFC normalisation, and no unpaired surrogates (which UTF-8 cannot encode, so
 * two different such strings could hash alike).
 *
 * The message never contains the password.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { validatePassword } from "./password.ts";
 *
 * assert.equal(validatePassword("correct horse battery staple"), undefined);
 * assert.equal(validatePassword("short"), "password must be at least 8 characters");
 * assert.equal(validatePassword("🔐".repeat(8)), undefined); // 8 characters, 16 UTF-16 units
 * ```
 *
 * @param password The password as the user sent it.
 * @returns A message for the user when the password is not acceptable, otherwise `undefined`.
 */
export function validatePassword(password: string): string | undefined {
  if (!password.isWellFormed()) return "password must be valid Unicode text";
  let length = 0;
  for (const _ of password.normalize("NFC")) length++;
  if (length < PASSWORD_MIN_LENGTH) {
    return `password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return `password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Hashes a password with scrypt (N = 16384, r = 8, p = 1) and a random 16-byte salt.
 *
 * The work runs on a thread pool, so the event loop keeps serving while it runs. The password's
 * rules are {@linkcode validatePassword}'s business; this hashes any string.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, verifyPassword } from "./password.ts";
 *
 * const stored = await hashPassword("correct horse battery staple");
 * assert.match(stored, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
 * assert.equal(await verifyPassword("correct horse battery staple", stored), true);
 * assert.equal(await verifyPassword("Correct horse battery staple", stored), false);
 * ```
 *
 * @param password The password, in the clear.
 * @returns The string to store.
 */
export async function hashPassword(password: string): Promise<string> {
  const params = { cost: COST, blockSize: BLOCK_SIZE, parallelism: PARALLELISM };
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await derive(password, salt, params, KEY_BYTES);
  return format(params, salt, key);
}

/**
 * Checks a password against a string from {@linkcode hashPassword}, in constant time.
 *
 * A stored string that is not a well-formed scrypt hash within sane cost bounds gives `false`,
 * never an exception, so a corrupted row fails closed. To spend the same time when there is no
 * stored hash (an unknown user), verify against {@linkcode DUMMY_PASSWORD_HASH}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, verifyPassword } from "./password.ts";
 *
 * const stored = await hashPassword("pässwörd-ünïcode-🔐");
 * assert.equal(await verifyPassword("pässwörd-ünïcode-🔐", stored), true);
 * assert.equal(await verifyPassword("pässwörd-ünïcode-🔐", "not a hash"), false);
 * ```
 *
 * @param password The password to check, in the clear.
 * @param stored The stored string.
 * @returns Whether the password matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (parsed === undefined) return false;
  let key: Uint8Array;
  try {
    key = await derive(password, parsed.salt, parsed, parsed.key.length);
  } catch {
    return false;
  }
  return timingSafeEqual(key, parsed.key);
}

interface ScryptParams {
  cost: number;
  blockSize: number;
  parallelism: number;
}

interface StoredHash extends ScryptParams {
  salt: Uint8Array;
  key: Uint8Array;
}

function derive(
  password: string,
  salt: Uint8Array,
  { cost, blockSize, parallelism }: ScryptParams,
  length: number,
): Promise<Uint8Array> {
  const bytes = encoder.encode(password.normalize("NFC"));
  // OpenSSL needs 128·r·(N + p + 2) bytes; the default limit of 32 MiB would refuse raised
  // parameters that parse() allows.
  const maxmem = 128 * blockSize * (cost + parallelism + 2);
  return new Promise((resolve, reject) => {
    scrypt(bytes, salt, length, { N: cost, r: blockSize, p: parallelism, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function format(params: ScryptParams, salt: Uint8Array, key: Uint8Array): string {
  const { cost, blockSize, parallelism } = params;
  return `scrypt$${cost}$${blockSize}$${parallelism}$${salt.toBase64()}$${key.toBase64()}`;
}

function parse(stored: string): StoredHash | undefined {
  const fields = stored.split("$");
  if (fields.length !== 6 || fields[0] !== "scrypt") return undefined;
  const [cost, blockSize, parallelism] = fields.slice(1, 4).map(parseDecimal);
  const salt = parseBase64(fields[4]);
  const key = parseBase64(fields[5]);
  if (
    cost === undefined || blockSize === undefined || parallelism === undefined ||
    salt === undefined || key === undefined
  ) return undefined;
  // scrypt requires N to be a power of two above 1.
  const powerOfTwo = cost > 1 && (cost & (cost - 1)) === 0;
  const bounded = 128 * cost * blockSize * parallelism <= MAX_WORK;
  const sized = salt.length >= MIN_SALT_BYTES && salt.length <= MAX_FIELD_BYTES &&
    key.length >= MIN_KEY_BYTES && key.length <= MAX_FIELD_BYTES;
  if (!powerOfTwo || !bounded || !sized) return undefined;
  return { cost, blockSize, parallelism, salt, key };
}

function parseDecimal(field: string): number | undefined {
  return DECIMAL.test(field) ? Number(field) : undefined;
}

// Strict: padding required and no whitespace, so one stored string has one meaning.
function parseBase64(field: string): Uint8Array | undefined {
  if (!BASE64.test(field)) return undefined;
  try {
    return Uint8Array.fromBase64(field, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}
