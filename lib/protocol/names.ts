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
 * import { isName } from "./names.ts";
 * console.log(isName("Harry"), isName("Ha"), isName("Hаrry")); // true false false (Cyrillic а)
 * ```
 */
export function isName(value: unknown): value is string {
  return typeof value === "string" && NAME_PATTERN.test(value);
}
