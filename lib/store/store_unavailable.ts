/**
 * The error of a store that cannot be reached (the cluster's Redis), so the dispatcher can tell
 * the user plainly instead of answering with a bare internal error.
 * @module
 */

/** The shared store cannot be reached; the request was not carried out. */
export class StoreUnavailableError extends Error {
  readonly code = "store_unavailable";
  constructor(cause: unknown) {
    super("The shared store (Redis) is unreachable", { cause });
    this.name = "StoreUnavailableError";
  }
}
