/**
 * The lockout policy: after N consecutive failed logins the account is blocked for a while.
 * Pure functions over a stored state, so the state can live in the database and outlive restarts.
 * @module
 */

/** Failed-login state of one account. */
export interface LockoutState {
  /** Consecutive failures since the last success or the last block. */
  readonly failures: number;
  /** Epoch ms until which logins are refused; 0 when not blocked. */
  readonly blockedUntil: number;
}

/** The state of an account that never failed. */
export const NO_FAILURES: LockoutState = Object.freeze({ failures: 0, blockedUntil: 0 });

/** Lockout settings. */
export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly lockoutMs: number;
}

/** Whether the account refuses logins at `now`. */
export function isLockedOut(state: LockoutState, now: number): boolean {
  return state.blockedUntil > now;
}

/** The state after one more wrong password; `blocked` says whether this failure blocked it. */
export function recordFailure(
  state: LockoutState,
  policy: LockoutPolicy,
  now: number,
): { state: LockoutState; blocked: boolean } {
  // A block that has run out starts a fresh count.
  const failures = (state.blockedUntil !== 0 && state.blockedUntil <= now ? 0 : state.failures) + 1;
  if (failures >= policy.maxFailures) {
    return { state: { failures: 0, blockedUntil: now + policy.lockoutMs }, blocked: true };
  }
  return { state: { failures, blockedUntil: 0 }, blocked: false };
}
