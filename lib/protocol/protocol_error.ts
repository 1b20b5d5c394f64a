/**
 * The error type that carries a protocol reply code.
 * @module
 */

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

  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
