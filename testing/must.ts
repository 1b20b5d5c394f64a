/**
 * Narrowing for tests: the npm mirror of `@std/assert` carries no types, so its `assert` cannot
 * tell the checker that a value is there.
 * @module
 */

/** Returns `value`, or throws saying what was missing. */
export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`Expected ${what}, got ${value}`);
  return value;
}
