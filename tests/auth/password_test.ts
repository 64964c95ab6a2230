import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { scryptSync } from "node:crypto";
import {
  DUMMY_PASSWORD_HASH,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  validatePassword,
  verifyPassword,
} from "../../lib/auth/password.ts";

const PASSWORD = "correct horse battery staple";
const FORMAT = /^scrypt\$16384\$8\$1\$([A-Za-z0-9+/]{22}==)\$([A-Za-z0-9+/]{43}=)$/;

/** A stored string made without the module under test, by node:crypto's scryptSync. */
function independentHash(password: string, N: number, r: number, p: number, salt: Buffer): string {
  const key = scryptSync(Buffer.from(password, "utf8"), salt, 32, { N, r, p, maxmem: 2 ** 28 });
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

Deno.test("password: a hash has the documented format and verifies its password", async () => {
  const stored = await hashPassword(PASSWORD);
  assert.match(stored, FORMAT);
  assert.equal(await verifyPassword(PASSWORD, stored), true);
});

Deno.test("password: hashPassword's output checks out against node:crypto scryptSync", async () => {
  const stored = await hashPassword(PASSWORD);
  const [, salt] = stored.match(FORMAT)!;
  assert.equal(stored, independentHash(PASSWORD, 16384, 8, 1, Buffer.from(salt, "base64")));
});

Deno.test("password: a hash made elsewhere with other parameters verifies with those", async () => {
  const salt = Buffer.from("0123456789abcdef");
  const stored = independentHash(PASSWORD, 1024, 4, 2, salt);
  assert.equal(await verifyPassword(PASSWORD, stored), true);
  assert.equal(await verifyPassword(PASSWORD + "!", stored), false);
});

Deno.test("password: wrong passwords do not verify", async () => {
  const stored = await hashPassword(PASSWORD);
  for (const wrong of ["", "correct horse battery stapl", PASSWORD + " ", PASSWORD.toUpperCase()]) {
    assert.equal(await verifyPassword(wrong, stored), false, JSON.stringify(wrong));
  }
});

Deno.test("password: the same password gets a different salt and hash each time", async () => {
  const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
  assert.notEqual(first.match(FORMAT)![1], second.match(FORMAT)![1]);
  assert.notEqual(first.match(FORMAT)![2], second.match(FORMAT)![2]);
  assert.equal(await verifyPassword(PASSWORD, first), true);
  assert.equal(await verifyPassword(PASSWORD, second), true);
});

Deno.test("password: unicode passwords round-trip, and NFC and NFD spellings are one password", async () => {
  for (const password of ["пароль-密码-🔐🔐", "ｆｕｌｌｗｉｄｔｈ", "\u0000\u0001 control 🙂"]) {
    assert.equal(await verifyPassword(password, await hashPassword(password)), true, password);
  }
  const composed = "caf\u00e9 au lait";
  const decomposed = "cafe\u0301 au lait";
  const stored = await hashPassword(decomposed);
  assert.equal(await verifyPassword(composed, stored), true);
  assert.equal(await verifyPassword("cafe au lait", stored), false);
});

Deno.test("password: malformed stored strings verify as false without throwing", async () => {
  const good = await hashPassword(PASSWORD);
  const [, salt, key] = good.match(FORMAT)!;
  const withFields = (fields: string[]) => fields.join("$");
  const cases: Record<string, string> = {
    "empty": "",
    "plain text": PASSWORD,
    "other scheme": good.replace("scrypt$", "bcrypt$"),
    "too few fields": withFields(["scrypt", "16384", "8", "1", salt]),
    "too many fields": `${good}$`,
    "N not a power of two": withFields(["scrypt", "16383", "8", "1", salt, key]),
    "N = 1": withFields(["scrypt", "1", "8", "1", salt, key]),
    "N = 0": withFields(["scrypt", "0", "8", "1", salt, key]),
    "N with a leading zero": withFields(["scrypt", "016384", "8", "1", salt, key]),
    "N in hex": withFields(["scrypt", "0x4000", "8", "1", salt, key]),
    "N negative": withFields(["scrypt", "-16384", "8", "1", salt, key]),
    "N too costly": withFields(["scrypt", String(2 ** 30), "8", "1", salt, key]),
    "r too costly": withFields(["scrypt", "16384", "1000000", "1", salt, key]),
    "p too costly": withFields(["scrypt", "16384", "8", "1000", salt, key]),
    "r = 0": withFields(["scrypt", "16384", "0", "1", salt, key]),
    "p fractional": withFields(["scrypt", "16384", "8", "1.5", salt, key]),
    "empty salt": withFields(["scrypt", "16384", "8", "1", "", key]),
    "short salt": withFields(["scrypt", "16384", "8", "1", "AAAA", key]),
    "salt without padding": withFields(["scrypt", "16384", "8", "1", salt.slice(0, -2), key]),
    "salt with whitespace": withFields(["scrypt", "16384", "8", "1", ` ${salt}`, key]),
    "salt in base64url": withFields(["scrypt", "16384", "8", "1", "-_-_-_-_-_-_-_-_-_-_-w==", key]),
    "short key": withFields(["scrypt", "16384", "8", "1", salt, "AAAAAAAA"]),
    "key not base64": withFields(["scrypt", "16384", "8", "1", salt, "not base64!"]),
    "key with non-zero padding bits": withFields([
      "scrypt",
      "16384",
      "8",
      "1",
      salt,
      `${key.slice(0, -2)}9=`,
    ]),
  };
  // Each is refused by parsing alone, before any hashing ("p too costly" would otherwise take
  // minutes and time the test out): a corrupted row cannot cost more than a real login.
  assert.equal(await verifyPassword(PASSWORD, good), true);
  for (const [name, stored] of Object.entries(cases)) {
    assert.equal(await verifyPassword(PASSWORD, stored), false, name);
  }
});

Deno.test("password: DUMMY_PASSWORD_HASH matches nothing and has today's parameters", async () => {
  assert.match(DUMMY_PASSWORD_HASH, FORMAT);
  for (const password of ["", PASSWORD, "\u0000".repeat(8)]) {
    assert.equal(await verifyPassword(password, DUMMY_PASSWORD_HASH), false);
  }
});

Deno.test("password: an unknown user (dummy hash) costs what a wrong password costs", async () => {
  // The same work, by construction: the dummy hash has a real hash's parameters and sizes, so
  // verifying against it is one scrypt derivation of the same cost. (Timing it here would only
  // measure the machine; the benchmark is the place for figures.)
  const fields = (stored: string) => stored.split("$");
  const real = fields(await hashPassword(PASSWORD));
  const dummy = fields(DUMMY_PASSWORD_HASH);
  assert.deepEqual(dummy.slice(0, 4), real.slice(0, 4), "scheme, N, r and p");
  assert.equal(atob(dummy[4]).length, atob(real[4]).length, "salt size");
  assert.equal(atob(dummy[5]).length, atob(real[5]).length, "key size");
});

Deno.test("password: hashing leaves the event loop free", async () => {
  // A timer set after hashing starts fires before the hash is done: the work is on a pool.
  const order: string[] = [];
  const hashed = hashPassword(PASSWORD).then(() => order.push("hash"));
  await new Promise((resolve) => setTimeout(resolve, 0)).then(() => order.push("timer"));
  await hashed;
  assert.deepEqual(order, ["timer", "hash"]);
});

Deno.test("password: validatePassword applies 8 to 256 characters, counted as code points", () => {
  assert.equal(PASSWORD_MIN_LENGTH, 8);
  assert.equal(PASSWORD_MAX_LENGTH, 256);
  const tooShort = "password must be at least 8 characters";
  const tooLong = "password must be at most 256 characters";
  assert.equal(validatePassword(""), tooShort);
  assert.equal(validatePassword("x".repeat(7)), tooShort);
  assert.equal(validatePassword("x".repeat(8)), undefined);
  assert.equal(validatePassword("x".repeat(256)), undefined);
  assert.equal(validatePassword("x".repeat(257)), tooLong);
  // Astral characters are two UTF-16 units each but one character.
  assert.equal(validatePassword("🔐".repeat(7)), tooShort);
  assert.equal(validatePassword("🔐".repeat(8)), undefined);
  assert.equal(validatePassword("🔐".repeat(256)), undefined);
  assert.equal(validatePassword("🔐".repeat(257)), tooLong);
  // Counted after NFC: eight "e" + combining acute are eight characters, not sixteen.
  assert.equal(validatePassword("e\u0301".repeat(8)), undefined);
  assert.equal(validatePassword("e\u0301".repeat(200)), undefined);
  assert.equal(validatePassword("e\u0301".repeat(7)), tooShort);
});

Deno.test("password: unpaired surrogates are refused, and no message echoes the password", () => {
  const message = "password must be valid Unicode text";
  assert.equal(validatePassword("abcdefgh\ud800"), message);
  assert.equal(validatePassword("\udc00abcdefgh"), message);
  for (const password of ["secret", "s3cr3t-".repeat(50), "abcdefgh\ud800"]) {
    const result = validatePassword(password);
    assert.ok(result !== undefined && !result.includes(password) && !result.includes("s3cr3t"));
  }
});
