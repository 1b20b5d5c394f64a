/**
 * Failed logins of names that have no account, kept in memory by a single server: bounded in
 * number, each forgotten a while after its last change.
 * @module
 */

import { type LockoutState, NO_FAILURES } from "../auth/lockout.ts";
import { foldName } from "../protocol/names.ts";

/** How many names are tracked at most; the one changed longest ago makes room. */
const MAX_GHOSTS = 10_000;

/** A bounded, expiring map of lockout states by folded name. */
export class GhostLockouts {
  readonly #states = new Map<string, { state: LockoutState; until: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get(name: string): LockoutState {
    const key = foldName(name);
    const entry = this.#states.get(key);
    if (!entry) return NO_FAILURES;
    if (entry.until > this.#now()) return entry.state;
    this.#states.delete(key);
    return NO_FAILURES;
  }

  update(
    name: string,
    change: (state: LockoutState) => LockoutState,
    ttlMs: number,
  ): LockoutState {
    const next = change(this.get(name));
    const key = foldName(name);
    this.#states.delete(key);
    if (next.failures === 0 && next.blockedUntil === 0) return next;
    if (this.#states.size >= MAX_GHOSTS) {
      this.#states.delete(this.#states.keys().next().value ?? "");
    }
    this.#states.set(key, { state: next, until: this.#now() + ttlMs });
    return next;
  }
}
