/**
 * Why a peer-to-peer transfer or message failed.
 * @module
 */

/** What went wrong, for callers that react differently. */
export type TransferErrorCode =
  | "peer_gone"
  | "refused"
  | "hash_mismatch"
  | "aborted"
  | "cancelled"
  | "not_enabled"
  | "file_changed";

/** A peer-to-peer operation failed; the message is fit for the user. */
export class TransferError extends Error {
  readonly code: TransferErrorCode;

  constructor(code: TransferErrorCode, message: string) {
    super(message);
    this.name = "TransferError";
    this.code = code;
  }
}
