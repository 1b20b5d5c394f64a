/**
 * The error of a store that cannot be reached (the cluster's Redis), so the dispatcher can tell
 * the user plainly instead of answering with a bare internal error.
 * @module
 */

/** What became of a request when the store failed it. */
export type StoreOutcome =
  /** Nothing was carried out (the connection was down, Redis refused writes for now). */
  | "not_done"
  /** The connection broke while a command was under way: it may have been carried out. */
  | "unknown"
  /** Carried out on the primary, but fewer replicas than asked confirmed it in time. */
  | "unreplicated";

/** The shared store cannot be reached, or cannot keep what it was asked to; see `outcome`. */
export class StoreUnavailableError extends Error {
  readonly code = "store_unavailable";
  readonly outcome: StoreOutcome;
  constructor(cause: unknown, outcome: StoreOutcome = "not_done") {
    super("The shared store (Redis) is unreachable", { cause });
    this.name = "StoreUnavailableError";
    this.outcome = outcome;
  }
}
