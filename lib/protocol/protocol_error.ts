/**
 * The error type that carries a protocol reply code.
 * @module
 */

/**
 * Why a request failed, finer than its reply code: front ends that have their own error
 * vocabulary (IRC numerics) pick theirs from it; the line protocol shows only code and text.
 */
export type ErrorReason =
  | "no_such_user"
  | "no_such_channel"
  | "bad_channel_name"
  | "not_on_channel"
  | "user_not_on_channel"
  | "already_on_channel"
  | "chanop_needed"
  | "cannot_send"
  | "channel_full"
  | "invite_only"
  | "banned"
  | "bad_key"
  | "unknown_mode"
  | "too_many_channels"
  | "name_in_use"
  | "name_is_account"
  | "name_fixed"
  | "guest"
  | "blocked";

/**
 * A request failed in a way the user should be told about: the code and message become the
 * reply line `code message`.
 *
 * @example Usage
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 * throw new ProtocolError(404, 'Cannot find room "7"');
 * ```
 */
export class ProtocolError extends Error {
  /** The reply code (4xx or 5xx). */
  readonly code: number;
  /** The finer reason, when a front end may want it. */
  readonly reason: ErrorReason | undefined;
  /**
   * Lines of the reply before the message, which stays its last line (the text clients and the
   * seeds' dialects read): `412-Blocked for 8 more seconds` then `412 <the seed's text>`.
   */
  readonly before: readonly string[];

  constructor(
    code: number,
    message: string,
    options?: ErrorOptions & { reason?: ErrorReason; before?: readonly string[] },
  ) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
    this.reason = options?.reason;
    this.before = options?.before ?? [];
  }
}
