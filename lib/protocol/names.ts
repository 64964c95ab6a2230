/**
 * The one rule for user and topic names.
 *
 * @module
 */

/** `username` and `topic` both match this. */
export const NAME_PATTERN: RegExp = /^[a-zA-Z0-9_-]{4,30}$/;

/**
 * Whether `value` is a valid user or topic name.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { isName } from "./names.ts";
 * assert.equal(isName("Harry"), true);
 * assert.equal(isName("Ha"), false); // too short
 * assert.equal(isName("Hаrry"), false); // a Cyrillic а
 * ```
 */
export function isName(value: unknown): value is string {
  return typeof value === "string" && NAME_PATTERN.test(value);
}
