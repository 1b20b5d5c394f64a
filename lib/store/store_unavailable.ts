/**
 * The error of a store that cannot be reached (the cluster's Redis), so the dispatcher can tell
 * the user plainly instead of answering with a bare internal error.
 * @module
 */

/**
 * The shared store cannot be reached. `outcome` says what became of the request: `not_done`
 * when nothing was sent (the connection was down), `unknown` when the connection broke while a
 * command was under way (it may have been carried out).
 */
export class StoreUnavailableError extends Error {
  readonly code = "store_unavailable";
  readonly outcome: "not_done" | "unknown";
  constructor(cause: unknown, outcome: "not_done" | "unknown" = "not_done") {
    super("The shared store (Redis) is unreachable", { cause });
    this.name = "StoreUnavailableError";
    this.outcome = outcome;
  }
}
